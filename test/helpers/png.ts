// A minimal PNG reader (8-bit RGB or RGBA, not interlaced: what Chromium writes), enough to
// check what a screenshot shows by its pixels.
import { inflateSync } from 'node:zlib'

export interface Image {
  readonly width: number
  readonly height: number
  /** RGB of pixel (x, y). */
  rgb(x: number, y: number): [number, number, number]
}

export function readPng(data: Buffer): Image {
  if (!data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG')
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  for (let at = 8; at < data.length; ) {
    const length = data.readUInt32BE(at)
    const type = data.toString('latin1', at + 4, at + 8)
    const body = data.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const [depth, color, , , interlace] = body.subarray(8, 13)
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, color type ${color}, interlace ${interlace}`)
      channels = color === 6 ? 4 : 3
    }
    if (type === 'IDAT') idat.push(body)
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0
      const c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels]! : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter]
      if (predictor === undefined) throw new Error(`bad PNG filter ${filter}`)
      pixels[y * stride + i] = (line[i]! + predictor) & 0xff
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => {
      const at = y * stride + x * channels
      return [pixels[at]!, pixels[at + 1]!, pixels[at + 2]!]
    },
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)]
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** Pixels within `tolerance` of the colour `#rrggbb` per channel, and the rows they lie on. */
export function pixelsOf(image: Image, hex: string, tolerance = 6): { count: number; rows: number[] } {
  const target = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  let count = 0
  const rows = new Set<number>()
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const px = image.rgb(x, y)
      if (px.every((v, i) => Math.abs(v - target[i]!) <= tolerance)) {
        count++
        rows.add(y)
      }
    }
  }
  return { count, rows: [...rows] }
}
