// Names and messages from users' programs are shown with their control characters escaped: an
// ANSI/OSC sequence cannot drive the terminal, a newline cannot forge a line.
import { describe, expect, it } from 'vitest'
import { printable } from '../../src/printable.js'

describe('printable', () => {
  it('escapes C0, DEL and C1 controls and bidirectional overrides, and nothing else', () => {
    expect(printable('title\x1b]0;pwned\x07 red\x1b[31m')).toBe('title\\x1b]0;pwned\\x07 red\\x1b[31m')
    expect(printable('a\nb\r\tc\x7f\x9b')).toBe('a\\nb\\r\\tc\\x7f\\x9b')
    expect(printable('admin\u202e\u2066x')).toBe('admin\\u202e\\u2066x')
    const plain = 'featA · étape 3 — 数据 ✓ [x] "q"'
    expect(printable(plain)).toBe(plain)
  })
})
