/**
 * Styles of the run pages (report, runs, leaderboard) and uPlot's own stylesheet, inlined in the page so that the
 * charts need no extra request.
 *
 * @module
 */

/** uPlot 1.6.32's `uPlot.min.css` (MIT licence, © Leon Sorokin). */
const UPLOT_CSS =
  `.uplot, .uplot *, .uplot *::before, .uplot *::after {box-sizing: border-box;}.uplot {font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol", "Noto Color Emoji";line-height: 1.5;width: min-content;}.u-title {text-align: center;font-size: 18px;font-weight: bold;}.u-wrap {position: relative;user-select: none;}.u-over, .u-under {position: absolute;}.u-under {overflow: hidden;}.uplot canvas {display: block;position: relative;width: 100%;height: 100%;}.u-axis {position: absolute;}.u-legend {font-size: 14px;margin: auto;text-align: center;}.u-inline {display: block;}.u-inline * {display: inline-block;}.u-inline tr {margin-right: 16px;}.u-legend th {font-weight: 600;}.u-legend th > * {vertical-align: middle;display: inline-block;}.u-legend .u-marker {width: 1em;height: 1em;margin-right: 4px;background-clip: padding-box !important;}.u-inline.u-live th::after {content: ":";vertical-align: middle;}.u-inline:not(.u-live) .u-value {display: none;}.u-series > * {padding: 4px;}.u-series th {cursor: pointer;}.u-legend .u-off > * {opacity: 0.3;}.u-select {background: rgba(0,0,0,0.07);position: absolute;pointer-events: none;}.u-cursor-x, .u-cursor-y {position: absolute;left: 0;top: 0;pointer-events: none;will-change: transform;}.u-hz .u-cursor-x, .u-vt .u-cursor-y {height: 100%;border-right: 1px dashed #607D8B;}.u-hz .u-cursor-y, .u-vt .u-cursor-x {width: 100%;border-bottom: 1px dashed #607D8B;}.u-cursor-pt {position: absolute;top: 0;left: 0;border-radius: 50%;border: 0 solid;pointer-events: none;will-change: transform;/*this has to be !important since we set inline "background" shorthand */background-clip: padding-box !important;}.u-axis.u-off, .u-select.u-off, .u-cursor-x.u-off, .u-cursor-y.u-off, .u-cursor-pt.u-off {display: none;}`;

const RUN_CSS = `
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}
.filters{margin-bottom:.5rem}
.filters label{display:flex;flex-direction:column;font-size:.9rem}
.score-big{font-size:3rem;font-weight:700;line-height:1}
.verdict{font-size:1.4rem}
.meter{display:inline-block;width:6rem;height:.7rem;background:#dde1e6;border-radius:.3rem;vertical-align:middle;margin-right:.4rem}
.meter>span{display:block;height:100%;background:#0f3d5e;border-radius:.3rem}
.chart{margin:0 0 1.2rem;background:var(--card);border:1px solid #dde1e6;border-radius:.5rem;padding:.5rem}
.chart figcaption{margin-bottom:.3rem}
.line-svg{width:100%;height:160px;display:block}
.line-svg .band{fill:rgba(23,130,59,.15);stroke:none}
.line-svg .line{fill:none;stroke:#0f3d5e;stroke-width:2}
.uplot{width:100%}
.uplot{position:relative}
.uplot .u-legend{display:none;position:absolute;top:0;right:0;width:max-content;max-width:100%;z-index:2;background:rgba(255,255,255,.92);border:1px solid #dde1e6;border-radius:.3rem;font-size:.8rem;pointer-events:none}
.uplot:hover .u-legend{display:block}
.log td{font-size:.85rem;vertical-align:top}
.log code{white-space:pre-wrap;word-break:break-all}
section{margin:1.5rem 0}
.card h2{margin-top:0}
.cards{margin-top:1rem}
.figures{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:0}
.figures dt{font-weight:600}
.figures dd{margin:0}
td.meter-cell{white-space:nowrap}
.components th[scope=row]{font-weight:600}
.components tbody tr:first-child>*{border-bottom:0;padding-bottom:0}
.components .component-detail td{color:var(--muted);font-size:.85rem;padding-top:.1rem}
.pager{display:flex;gap:1rem;margin:.5rem 0}
@media (max-width:600px){.score-big{font-size:2.2rem}.line-svg{height:120px}.meter{width:3rem}.components th,.components td{padding-left:.3rem;padding-right:.3rem}}
`;

/** A `<style>` element with the run pages' CSS. */
export function RunStyles() {
  return <style dangerouslySetInnerHTML={{ __html: UPLOT_CSS + RUN_CSS }} />;
}
