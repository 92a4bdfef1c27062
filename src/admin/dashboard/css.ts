/** Dashboard styles: dark and light themes, state colours, tabular numbers. */
export const DASHBOARD_CSS = `
:root {
  --bg: #0d1117; --panel: #161b22; --panel-2: #1c2230; --border: #2a313c; --fg: #e6edf3; --muted: #8b949e;
  --green: #3fb950; --red: #f85149; --orange: #e3803a; --amber: #d29922; --blue: #58a6ff; --slate: #8b949e;
  --green-bg: rgba(63,185,80,.14); --red-bg: rgba(248,81,73,.15); --orange-bg: rgba(227,128,58,.16);
  --amber-bg: rgba(210,153,34,.16); --slate-bg: rgba(139,148,158,.16); --blue-bg: rgba(88,166,255,.14);
  --shadow: 0 1px 0 rgba(0,0,0,.2);
  color-scheme: dark;
}
@media (prefers-color-scheme: light) {
  :root:not([data-theme="dark"]) {
    --bg: #f6f8fa; --panel: #ffffff; --panel-2: #f3f5f8; --border: #d8dee4; --fg: #1f2328; --muted: #636c76;
    --green: #1a7f37; --red: #cf222e; --orange: #bc4c00; --amber: #9a6700; --blue: #0969da; --slate: #636c76;
    --green-bg: #dafbe1; --red-bg: #ffebe9; --orange-bg: #fff1e5; --amber-bg: #fff8c5; --slate-bg: #eaeef2; --blue-bg: #ddf4ff;
    --shadow: 0 1px 2px rgba(31,35,40,.06);
    color-scheme: light;
  }
}
:root[data-theme="light"] {
  --bg: #f6f8fa; --panel: #ffffff; --panel-2: #f3f5f8; --border: #d8dee4; --fg: #1f2328; --muted: #636c76;
  --green: #1a7f37; --red: #cf222e; --orange: #bc4c00; --amber: #9a6700; --blue: #0969da; --slate: #636c76;
  --green-bg: #dafbe1; --red-bg: #ffebe9; --orange-bg: #fff1e5; --amber-bg: #fff8c5; --slate-bg: #eaeef2; --blue-bg: #ddf4ff;
  --shadow: 0 1px 2px rgba(31,35,40,.06);
  color-scheme: light;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.num, table.grid td, .tile .value { font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.r { text-align: right; }
[hidden] { display: none !important; }

.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 14px; padding: 10px 20px;
  background: var(--panel); border-bottom: 1px solid var(--border); box-shadow: var(--shadow); flex-wrap: wrap; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 16px; letter-spacing: .2px; }
.node { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.node strong { font-size: 15px; }
.spacer { flex: 1; }
.cert-soon { color: var(--amber); font-weight: 600; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 999px; background: var(--blue-bg); color: var(--blue); font-size: 12px; }

.btn { font: inherit; font-size: 13px; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--border);
  background: var(--panel-2); color: var(--fg); cursor: pointer; }
.btn:hover { border-color: var(--muted); }
.btn.icon { padding: 5px 9px; }
.btn.danger { color: var(--red); }
.btn.primary { background: var(--blue); color: #fff; border-color: transparent; }
.btn:disabled { opacity: .5; cursor: default; }

.badge { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px; font-size: 12.5px; font-weight: 600; }
.badge.ok { background: var(--green-bg); color: var(--green); }
.badge.bad { background: var(--red-bg); color: var(--red); }
.badge.warn { background: var(--amber-bg); color: var(--amber); }
.live { display: inline-flex; align-items: center; gap: 6px; font-size: 12.5px; color: var(--muted); }
.live i { width: 8px; height: 8px; border-radius: 50%; background: var(--slate); display: inline-block; }
.live[data-mode="sse"] i { background: var(--green); box-shadow: 0 0 0 3px var(--green-bg); }
.live[data-mode="polling"] i { background: var(--amber); }
.live[data-mode="offline"] i { background: var(--red); }

main { padding: 18px 20px 8px; max-width: 1600px; margin: 0 auto; }
.tiles { display: grid; grid-template-columns: repeat(8, minmax(0, 1fr)); gap: 12px; margin-bottom: 18px; }
.tile { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 10px 14px; box-shadow: var(--shadow); }
.tile .label { display: block; color: var(--muted); font-size: 12px; }
.tile .value { display: block; font-size: 22px; font-weight: 650; margin-top: 2px; }
.tile .value.bad { color: var(--red); }
.tile .value.warn { color: var(--amber); }
.tile .value.ok { color: var(--green); }
.tile.lead { border-color: var(--blue); }
.tile.lead .value { font-size: 26px; }
td.ok, b.ok { color: var(--green); } td.warn, b.warn { color: var(--amber); } td.bad, b.bad { color: var(--red); }
td.success.ok, td.success.warn, td.success.bad, b.ok, b.warn, b.bad { font-weight: 650; }
.card-title .note { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 6px; }
table.golden a.svc { color: var(--fg); font-weight: 600; text-decoration: none; }
table.golden a.svc:hover { text-decoration: underline; }
table.golden .health-bar { flex-basis: 90px; }
table.routes code.match { font-size: 12px; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) 370px; gap: 18px; align-items: start; }
@media (max-width: 1180px) { .columns { grid-template-columns: 1fr; } .tiles { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
.section-title { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 10px; font-weight: 600; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow); margin-bottom: 16px; overflow: hidden; }
.card-title { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0; padding: 12px 14px 8px; font-weight: 600; }
.empty { color: var(--muted); padding: 4px 14px 14px; margin: 0; }

.service-head { display: flex; align-items: center; gap: 12px; padding: 12px 14px; border-bottom: 1px solid var(--border); flex-wrap: wrap; }
.service-head h3 { margin: 0; font-size: 15px; }
.service-head .stat { color: var(--muted); font-size: 12.5px; }
.service-head .stat b { color: var(--fg); font-weight: 600; }
.service-head .panic { background: var(--red-bg); color: var(--red); }
.health-bar { flex: 0 0 120px; height: 6px; border-radius: 3px; background: var(--slate-bg); overflow: hidden; display: flex; }
.health-bar span { height: 100%; }
.health-bar .healthy { background: var(--green); } .health-bar .unhealthy { background: var(--red); }
.health-bar .ejected { background: var(--orange); } .health-bar .draining { background: var(--slate); }

table.grid { width: 100%; border-collapse: collapse; }
table.grid th { text-align: left; font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .4px;
  padding: 7px 9px; border-bottom: 1px solid var(--border); white-space: nowrap; }
table.grid td { padding: 6px 9px; border-bottom: 1px solid var(--border); vertical-align: middle; white-space: nowrap; }
table.grid tr:last-child td { border-bottom: 0; }
table.grid tbody tr:hover td { background: var(--panel-2); }
table.grid th.r, table.grid td.r { text-align: right; }
tr.endpoint { cursor: pointer; }
table.grid td.reason { white-space: normal; overflow-wrap: anywhere; color: var(--muted); min-width: 120px; max-width: 300px; font-size: 12.5px; }
.table-wrap { overflow-x: auto; }
table.members td:first-child { white-space: normal; word-break: break-word; }
td .sub { display: block; color: var(--muted); font-size: 11.5px; white-space: normal; max-width: 220px; }
.spark-cell { display: inline-flex; align-items: center; gap: 8px; justify-content: flex-end; }
.spark-cell .v { min-width: 52px; text-align: right; }
svg.spark { display: block; overflow: visible; }
svg.spark path.line { fill: none; stroke-width: 1.5; stroke-linejoin: round; stroke-linecap: round; }
svg.spark path.area { stroke: none; opacity: .18; }
svg.spark.rps path.line { stroke: var(--blue); } svg.spark.rps path.area { fill: var(--blue); }
svg.spark.p99 path.line { stroke: var(--amber); } svg.spark.p99 path.area { fill: var(--amber); }
svg.spark.err path.line { stroke: var(--red); } svg.spark.err path.area { fill: var(--red); }
svg.spark line.base { stroke: var(--border); stroke-width: 1; }

.state { display: inline-flex; align-items: center; gap: 7px; font-weight: 600; font-size: 12.5px; padding: 2px 9px 2px 7px; border-radius: 999px; }
.state::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: currentColor; }
.state.healthy, .state.alive { color: var(--green); background: var(--green-bg); }
.state.unhealthy, .state.dead { color: var(--red); background: var(--red-bg); }
.state.ejected { color: var(--orange); background: var(--orange-bg); }
.state.suspect { color: var(--amber); background: var(--amber-bg); }
.state.draining, .state.left { color: var(--slate); background: var(--slate-bg); }
.state.maintenance { color: var(--blue); background: var(--blue-bg); }
.breaker { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 5px; border: 1px solid var(--border); color: var(--muted); }
.breaker.half-open { color: var(--amber); border-color: var(--amber); background: var(--amber-bg); }
.breaker.open { color: #fff; background: var(--red); border-color: var(--red); }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 4px; background: var(--slate-bg); color: var(--muted); margin-left: 4px; }
.self { font-size: 11px; color: var(--blue); margin-left: 6px; }

.alerts { list-style: none; margin: 0; padding: 0 6px 8px; }
.alerts li { display: grid; grid-template-columns: auto 1fr auto; gap: 4px 10px; padding: 8px; border-radius: 8px; align-items: center; }
.alerts li + li { border-top: 1px solid var(--border); border-radius: 0; }
.alerts .sev { font-size: 11px; font-weight: 700; text-transform: uppercase; padding: 1px 7px; border-radius: 4px; }
.alerts .sev.critical { background: var(--red); color: #fff; }
.alerts .sev.warning { background: var(--amber-bg); color: var(--amber); }
.alerts li.resolved .sev { background: var(--slate-bg); color: var(--muted); }
.alerts .what { font-weight: 600; overflow-wrap: anywhere; }
.alerts .when { color: var(--muted); font-size: 12px; }
.alerts .detail-line { grid-column: 2 / 4; color: var(--muted); font-size: 12.5px; }
.alerts li.resolved .what { color: var(--muted); font-weight: 500; }

.events { list-style: none; margin: 0; padding: 0 6px 8px; max-height: 420px; overflow-y: auto; }
.events li { display: grid; grid-template-columns: 92px 1fr auto; gap: 8px; padding: 6px 8px; align-items: baseline; border-left: 3px solid transparent; }
.events li + li { border-top: 1px solid var(--border); }
.events li.bad { border-left-color: var(--red); } .events li.warn { border-left-color: var(--amber); } .events li.ok { border-left-color: var(--green); }
.events .kind { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .3px; color: var(--muted); }
.events .what { overflow-wrap: anywhere; font-size: 12.5px; }
.events .when { color: var(--muted); font-size: 11.5px; white-space: nowrap; }

.auth { position: fixed; inset: 0; background: rgba(0,0,0,.45); display: grid; place-items: center; z-index: 20; }
.auth form { width: 360px; padding: 18px; display: grid; gap: 10px; }
.auth h2 { margin: 0; font-size: 16px; }
.auth input { font: inherit; padding: 7px 10px; border-radius: 6px; border: 1px solid var(--border); background: var(--bg); color: var(--fg); }

dialog.detail { width: min(980px, 94vw); border: 1px solid var(--border); border-radius: 12px; background: var(--panel); color: var(--fg); padding: 0 18px 18px; }
dialog.detail::backdrop { background: rgba(0,0,0,.5); }
.detail-head { display: flex; justify-content: space-between; align-items: center; padding: 14px 0 6px; }
.detail-head h2 { margin: 0; font-size: 16px; }
.detail-charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; }
.detail-charts figure { margin: 0; background: var(--panel-2); border: 1px solid var(--border); border-radius: 8px; padding: 10px; }
.detail-charts figcaption { font-size: 12px; color: var(--muted); margin-bottom: 6px; }
.detail-state { display: flex; align-items: center; gap: 12px; margin: 4px 0 12px; flex-wrap: wrap; }
svg.chart { display: block; width: 100%; height: auto; overflow: visible; }
svg.chart text { fill: var(--muted); font-size: 10.5px; font-variant-numeric: tabular-nums; }
svg.chart text.now { fill: var(--fg); font-weight: 600; }
svg.chart line.grid { stroke: var(--border); stroke-dasharray: 2 3; }
svg.chart line.base { stroke: var(--muted); }
svg.chart path.line { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
svg.chart.rps path.line { stroke: var(--blue); } svg.chart.rps circle.dot { fill: var(--blue); }
svg.chart.ok path.line { stroke: var(--green); } svg.chart.ok circle.dot { fill: var(--green); }
svg.chart.p99 path.line { stroke: var(--amber); } svg.chart.p99 circle.dot { fill: var(--amber); }
dialog h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 16px 0 6px; }

.toast { position: fixed; right: 20px; bottom: 20px; background: var(--panel); border: 1px solid var(--border); border-radius: 8px;
  padding: 10px 14px; box-shadow: 0 6px 24px rgba(0,0,0,.25); max-width: 520px; white-space: pre-wrap; z-index: 30; }
.toast.bad { border-color: var(--red); }
.toast.ok { border-color: var(--green); }
.foot { text-align: center; font-size: 12px; padding: 6px 0 18px; }
`
