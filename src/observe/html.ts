/** Small helpers the report's HTML and SVG share: escaping, embedded data, the status palette. */

/** Text or attribute value, safe inside HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * JSON to embed in a `<script type="application/json">`: `<` escaped so no value can close the
 * script element, and the two line separators JavaScript once rejected in strings.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

/** One colour per way a step or call ended, in the graph, the timeline and the table alike. */
export const STATUS_COLORS: Readonly<Record<string, string>> = {
  succeeded: '#34a060',
  failed: '#dc4a4a',
  retried: '#f0a030',
  interrupted: '#9366e8',
  cancelled: '#8a8f96',
  skipped: '#b8bec6',
  running: '#4a86e8',
  pending: '#d5d9de',
  queued: '#b9cdef',
}
