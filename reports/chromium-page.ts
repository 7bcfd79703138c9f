import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), never a downloaded browser. The browser tests skip without it. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

const ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** A page opened in headless Chromium, with what it logged as errors or warnings and every URL it requested. */
export interface OpenedPage {
  page: Page;
  url: string;
  consoleErrors: string[];
  requests: string[];
  close(): Promise<void>;
}

/** Opens `file` (an HTML file) in a fresh headless Chromium profile under `profileDir`, once the page has loaded. */
export async function openInChromium(file: string, profileDir: string, screenshot?: string): Promise<OpenedPage> {
  const context: BrowserContext = await chromium.launchPersistentContext(join(profileDir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
  return { page, url, consoleErrors, requests, close: () => context.close() };
}
