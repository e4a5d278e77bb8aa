// The report in a real browser: headless Chromium runs its script (the step table is built,
// the page marks itself ready) and a screenshot shows the timeline's bars in their colours.
// Skips, saying why, where Chromium is missing, unless SPINDLE_REQUIRE_CHROMIUM=1 (CI sets it),
// where it fails instead. SPINDLE_UPDATE_SCREENSHOT=1 writes the screenshot to docs/report.png.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderReport } from 'spindle'
import { STATUS_COLORS } from '../../src/observe/report-assets.js'
import { dumpDom, findChromium, screenshot } from '../helpers/chromium.js'
import { observedRun, type ObservedRun } from '../helpers/observed-run.js'
import { pixelsOf, readPng } from '../helpers/png.js'

const binary = findChromium()
const required = process.env.SPINDLE_REQUIRE_CHROMIUM === '1'
const skip = binary === undefined && !required
const why = 'no Chromium ($SPINDLE_CHROMIUM, or chromium, chromium-browser or google-chrome on PATH): install Debian\'s `chromium` package (CI sets SPINDLE_REQUIRE_CHROMIUM=1 to fail instead)'
if (skip) console.warn(`SKIPPED: the report's browser check: ${why}`)

describe.skipIf(skip)(`the HTML report in headless Chromium${skip ? ` (skipped: ${why})` : ''}`, () => {
  let observed: ObservedRun
  let dir: string
  let file: string
  beforeAll(async () => {
    if (binary === undefined) throw new Error(`SPINDLE_REQUIRE_CHROMIUM=1 but ${why}`)
    observed = await observedRun()
    dir = mkdtempSync(join(tmpdir(), 'spindle-report-'))
    file = join(dir, 'report.html')
    await observed.recorder.writeReport(file, observed.run)
  })
  afterAll(() => {
    observed?.cleanup()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('runs its script: the step table is built from the embedded data, one row per step', async () => {
    const dom = await dumpDom(binary!, file)
    expect(dom).toMatch(/<body[^>]* data-ready="true"/)
    const rows = [...dom.matchAll(/<tr class="step-row" data-step="([^"]*)"><td>([^<]*)<\/td><td>([^<]*)<\/td><td><span class="dot"[^>]*><\/span>([^<]*)<\/td>/g)]
    expect(rows.map((m) => [m[1], m[2], m[3], m[4]])).toEqual(observed.run.steps.map((s) => [s.name, s.name, s.kind, s.status]))
    expect(dom).toContain('<svg class="graph"')
    expect(dom).toContain('<svg class="gantt"')
  })

  it('shows the timeline in a screenshot: bars of succeeded, retried and failed work', async () => {
    const png = process.env.SPINDLE_UPDATE_SCREENSHOT === '1' ? fileURLToPath(new URL('../../docs/report.png', import.meta.url)) : join(dir, 'report.png')
    await screenshot(binary!, file, png, 1240, 1360)
    const image = readPng(readFileSync(png))
    expect([image.width, image.height]).toEqual([1240, 1360])
    // Orange is only the retried attempt's bar (and the legend's 12 px swatch): more than the swatch means bars are drawn.
    const retried = pixelsOf(image, STATUS_COLORS.retried!)
    expect(retried.count, 'orange pixels: the retried attempt').toBeGreaterThan(12 * 12 + 100)
    const succeeded = pixelsOf(image, STATUS_COLORS.succeeded!)
    const failed = pixelsOf(image, STATUS_COLORS.failed!)
    expect(succeeded.count).toBeGreaterThan(2000)
    expect(failed.count).toBeGreaterThan(200)
    // Succeeded bars share the timeline with the retried one (the graph above has no orange).
    const timelineTop = Math.min(...retried.rows)
    expect(succeeded.rows.some((y) => y >= timelineTop), 'succeeded bars in the timeline').toBe(true)
  })
})
