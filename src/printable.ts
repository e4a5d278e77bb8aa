/**
 * Text from users' programs (step names, pipeline names, error messages) made safe for a
 * terminal: control characters are written as escapes (`\x1b`, `\n`), so a name holding an
 * ANSI or OSC sequence cannot recolour, retitle or rewrite the user's terminal, and a name with a
 * newline cannot forge an extra line. Bidirectional overrides (Trojan Source) are escaped too.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}
