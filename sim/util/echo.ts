/** Longest excerpt of user input quoted in a message; longer values are cut with an ellipsis. */
export const ECHO_CHARS = 60;

/** `text` cut to `max` characters (with a note of the full length), so errors never echo a whole file or value. */
export function truncateEcho(text: string, max = ECHO_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length} characters)`;
}
