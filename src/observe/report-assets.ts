/**
 * What the report's pieces share: the status palette, escaping, and the page's inline stylesheet
 * and script. The script is plain ES2017 with no imports, and runs in any browser from a local
 * file: it builds the step table from the embedded data (sortable by any column) and, on hover
 * over a row, a box or a bar, highlights the same step everywhere. When done it marks
 * `<body data-ready="true">`.
 */

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
  starting: '#f2c879',
  'pool start': '#c9ced6',
}

export const REPORT_CSS = `
:root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; background: #fff; }
body { margin: 0 auto; padding: 16px 24px 48px; max-width: 1180px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.badge { font-size: 13px; color: #fff; padding: 2px 8px; border-radius: 10px; vertical-align: middle; }
.summary { color: #52606d; margin: 0; } code { font-size: 12px; }
.scroll { overflow-x: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2933; }
svg text.sub { font-size: 10.5px; fill: #27323d; } svg text.name { font-weight: 600; }
svg text.branch-name { font-size: 11px; fill: #52606d; font-style: italic; }
svg text.tick { font-size: 10.5px; fill: #6b7280; } svg text.lane-name { font-weight: 600; }
svg text.bar-name { font-size: 11px; fill: #fff; pointer-events: none; }
.legend span { margin-right: 14px; white-space: nowrap; color: #52606d; font-size: 12.5px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.legend i.thin { height: 4px; vertical-align: 2px; }
.hl rect { stroke: #111827; stroke-width: 2; } tr.hl td { background: #fff7d6; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f2; vertical-align: top; }
th { cursor: pointer; user-select: none; background: #f8fafc; } th.sorted::after { content: " ▾"; } th.sorted.asc::after { content: " ▴"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
details.error { border-left: 3px solid #dc4a4a; background: #fdf2f2; margin: 8px 0; padding: 6px 10px; border-radius: 3px; }
details.error pre, details.output pre { white-space: pre-wrap; font-size: 12px; margin: 6px 0 0; }
details.output { border-left: 3px solid #b8bec6; background: #f8fafc; margin: 8px 0; padding: 6px 10px; border-radius: 3px; }
.none { color: #52606d; }
`

export const REPORT_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('spindle-data').textContent);
  var colors = ${JSON.stringify(STATUS_COLORS)};
  var table = document.getElementById('step-table');
  var body = table.tBodies[0];
  var columns = ['name', 'kind', 'status', 'attempts', 'node', 'start', 'duration', 'queued', 'starting', 'running', 'reused', 'error'];
  var numeric = { attempts: 1, node: 1, start: 1, duration: 1, queued: 1, starting: 1, running: 1 };
  var times = { start: 1, duration: 1, queued: 1, starting: 1, running: 1 };
  function ms(v) { return v === null ? '' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms'; }
  function cell(row, key) {
    var td = document.createElement('td');
    var v = row[key];
    if (numeric[key]) td.className = 'num';
    if (key === 'status') {
      var dot = document.createElement('span');
      dot.className = 'dot';
      dot.style.background = colors[v] || '#999';
      td.appendChild(dot);
    }
    var text = v === null ? '' : times[key] ? ms(v) : String(v);
    td.appendChild(document.createTextNode(text));
    return td;
  }
  function render(rows) {
    body.textContent = '';
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      tr.className = 'step-row';
      tr.setAttribute('data-step', row.name);
      columns.forEach(function (key) { tr.appendChild(cell(row, key)); });
      body.appendChild(tr);
    });
  }
  var sortKey = null, ascending = true;
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.addEventListener('click', function () {
      var key = columns[i];
      ascending = sortKey === key ? !ascending : true;
      sortKey = key;
      Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.className = ''; });
      th.className = 'sorted' + (ascending ? ' asc' : '');
      var rows = data.rows.slice().sort(function (a, b) {
        var x = a[key], y = b[key];
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (ascending ? 1 : -1);
      });
      render(rows);
    });
  });
  render(data.rows);
  // Hovering a step anywhere highlights it everywhere: its box, its bars, its row, its errors.
  function highlight(step, on) {
    var all = document.querySelectorAll('[data-step]');
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('data-step') === step) all[i].classList.toggle('hl', on);
    }
  }
  document.addEventListener('mouseover', function (e) {
    var el = e.target.closest && e.target.closest('[data-step]');
    if (el) highlight(el.getAttribute('data-step'), true);
  });
  document.addEventListener('mouseout', function (e) {
    var el = e.target.closest && e.target.closest('[data-step]');
    if (el) highlight(el.getAttribute('data-step'), false);
  });
  document.body.setAttribute('data-ready', 'true');
})();
`
