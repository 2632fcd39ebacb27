// view_metrics.js — the server's own counters (/v1/metrics, Prometheus text), scraped every
// few seconds: request rate, latency percentiles and errors per route, and the gauges.
// Rates and percentiles are over the last interval (the difference of two scrapes); before the
// second scrape, and for a route idle in the interval, percentiles are over the server's life.
import { call } from "./api.js";
import { h, fill, num, bytes, say } from "./dom.js";
import { sparkline } from "./svg.js";
import { parse, by_route, quantile, delta, value } from "./prometheus.js";

const POLL_MS = 2000;
const HISTORY = 60;  // scrapes kept for the rate sparklines (two minutes)

export function render(root) {
  const msg = h("p", { class: "msg" });
  const gauges = h("div", { id: "metric-gauges", class: "row" });
  const table = h("div", { id: "metric-table" });
  const stamp = h("span", { class: "muted", id: "metric-stamp" });
  root.append(h("h2", {}, "Metrics ", stamp), msg, gauges, table);

  let last = null;            // {t, routes}
  const rates = new Map();    // route key -> recent req/s
  const total_rates = [];
  let timer = null, stopped = false;

  async function scrape() {
    try {
      const text = await call("GET", "/v1/metrics");
      const t = performance.now();
      const samples = parse(text);
      const routes = by_route(samples);
      const dt = last ? (t - last.t) / 1000 : null;
      let total = 0;
      const rows = [...routes.values()].sort((a, b) => b.count - a.count).map(r => {
        const d = delta(r, last && last.routes.get(r.key));
        const rate = dt ? d.count / dt : 0;
        total += rate;
        const hist = rates.get(r.key) || [];
        hist.push(rate); if (hist.length > HISTORY) hist.shift();
        rates.set(r.key, hist);
        const window = dt && d.count > 0 ? d : r;  // percentiles over the interval when it had requests
        return h("tr", { dataset: { route: r.key, count: r.count, errors: r.errors } },
          h("td", { class: "route" }, r.key),
          h("td", { class: "n" }, r.count),
          h("td", { class: "n" }, num(rate, 3)),
          h("td", {}, sparkline(hist, { width: 100, height: 18 })),
          h("td", { class: `n ${r.errors ? "error" : ""}` }, r.errors),
          ...[0.5, 0.9, 0.99].map(q => h("td", { class: "n" }, ms(quantile(window.buckets, q)))),
          h("td", { class: "n" }, ms(r.count ? r.sum / r.count : undefined)),
          h("td", { class: "muted" }, window === r ? "all time" : "last interval"));
      });
      total_rates.push(total); if (total_rates.length > HISTORY) total_rates.shift();
      last = { t, routes };
      const per_memory = samples.filter(x => x.name === "engram_memory_slots");
      fill(gauges,
        gauge("requests/s", num(total, 3), sparkline(total_rates, { width: 140, height: 24 })),
        gauge("open connections", value(samples, "engram_http_connections") ?? "—"),
        gauge("disk", bytes(value(samples, "engram_disk_bytes"))),
        gauge("writable", value(samples, "engram_storage_writable") === 0 ? "no (read only)" : "yes"),
        ...per_memory.map(x => gauge(`slots in ${x.labels.memory}`, x.value)));
      fill(table, h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, ["route", "requests", "req/s", "rate", "errors", "p50", "p90", "p99", "mean", "percentiles"].map(x => h("th", {}, x)))),
        h("tbody", {}, rows)));
      stamp.textContent = `· every ${POLL_MS / 1000} s · last ${new Date().toLocaleTimeString()}`;
      say(msg, "");
    } catch (e) {
      say(msg, e.message, "error");
    }
    if (!stopped) timer = setTimeout(scrape, POLL_MS);
  }
  scrape();
  return () => { stopped = true; clearTimeout(timer); };
}

function gauge(label, v, extra) {
  return h("div", { class: "gauge" }, h("span", { class: "muted" }, label), h("strong", {}, String(v)), extra);
}

function ms(seconds) {
  return seconds === undefined ? "—" : `${num(seconds * 1000, 3)} ms`;
}
