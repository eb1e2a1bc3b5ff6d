// Draw the charts of the metrics pages with Chart.js (vendored in cellchain/chartjs; no CDN, no inline script:
// the Content-Security-Policy allows only our own files). Each <canvas data-chart="ID" data-part="..."> reads
// the JSON the server put beside it with json_script (#ID); every figure is also in the page's tables.
(() => {
  "use strict";
  const INK = "#1f5fa8", BAD = "#b42318", OK = "#16794c";
  const common = { responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } } };
  const axis = (unit, zero) => ({ beginAtZero: zero, title: { display: Boolean(unit), text: unit || "" } });
  const flat = (label, value, n, colour, dash) => ({ type: "line", label, data: Array(n).fill(value),
    borderColor: colour, backgroundColor: colour, borderDash: dash, borderWidth: 1.5, pointRadius: 0, fill: false });

  // Rates and medians; a percentage axis runs 0-100 so two months read alike.
  const simple = (type) => (d) => ({ type, data: { labels: d.labels,
    datasets: d.series.map((s) => ({ label: s.label, data: s.data, borderColor: INK, backgroundColor: INK, spanGaps: true })) },
    options: { ...common, scales: { y: { ...axis(d.unit, true), ...(d.unit === "%" ? { min: 0, max: 100 } : {}) } } } });

  // The X chart: values (flagged points red triangles, so colour is not the only cue), centre line, limits.
  const xChart = (d) => {
    const n = d.values.length, flagged = new Set(d.flagged);
    const each = (yes, no) => d.values.map((_, i) => (flagged.has(i) ? yes : no));
    const datasets = [{ type: "line", label: d.text.value, data: d.values, borderColor: INK, backgroundColor: INK,
      pointBackgroundColor: each(BAD, INK), pointBorderColor: each(BAD, INK), pointStyle: each("triangle", "circle"),
      pointRadius: each(7, 3), borderWidth: 1.5 }];
    if (d.centre !== undefined) {
      datasets.push(flat(d.text.centre, d.centre, n, OK, []), flat(d.text.ucl, d.ucl, n, BAD, [6, 4]),
        flat(d.text.lcl, d.lcl, n, BAD, [6, 4]));
    }
    return { type: "line", data: { labels: d.labels, datasets }, options: { ...common, scales: { y: axis(d.unit, false) } } };
  };

  // The moving-range chart under it: mR of each batch against the previous one, and its upper limit.
  const mrChart = (d) => {
    const n = d.mr.length;
    const datasets = [{ type: "line", label: d.text.mr, data: d.mr, borderColor: INK, backgroundColor: INK,
      pointRadius: 3, borderWidth: 1.5, spanGaps: false }];
    if (d.mr_ucl !== undefined) datasets.push(flat(d.text.mr_ucl, d.mr_ucl, n, BAD, [6, 4]));
    return { type: "line", data: { labels: d.labels, datasets }, options: { ...common, scales: { y: axis(d.unit, true) } } };
  };

  const BUILD = { line: simple("line"), bar: simple("bar"), spc: xChart, "spc:mr": mrChart };

  const draw = () => {
    if (!window.Chart) return; // the tables carry every number; the charts are a reading aid
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const data = JSON.parse(source.textContent);
      const part = canvas.dataset.part ? `${data.kind}:${canvas.dataset.part}` : data.kind;
      const build = BUILD[part];
      if (build) canvas.chart = new window.Chart(canvas, build(data));
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
