#!/usr/bin/env node
// `npx twin` entry: registers tsx's loader so the TypeScript sources run as they are, then starts the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./twin.ts');
