// prometheus.js — reads the Prometheus text format of /v1/metrics into samples, and turns two
// scrapes of the request histograms into rates and latency percentiles per route.

// -> [{name, labels: {k: v}, value}]
export function parse(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

// The value of an unlabelled sample (or the sum over labels), undefined if absent.
export function value(samples, name) {
  const hits = samples.filter(x => x.name === name);
  return hits.length ? hits.reduce((a, x) => a + x.value, 0) : undefined;
}

// Per "METHOD route": {count, errors, sum, buckets: Map(le -> cumulative count)}, all statuses
// together (errors: status >= 400).
export function by_route(samples) {
  const routes = new Map();
  const get = l => {
    const key = `${l.method} ${l.route}`;
    if (!routes.has(key)) routes.set(key, { key, count: 0, errors: 0, sum: 0, buckets: new Map() });
    return routes.get(key);
  };
  for (const x of samples) {
    if (x.name === "engram_http_requests_total") {
      const r = get(x.labels);
      r.count += x.value;
      if (+x.labels.status >= 400) r.errors += x.value;
    } else if (x.name === "engram_http_request_duration_seconds_sum") {
      get(x.labels).sum += x.value;
    } else if (x.name === "engram_http_request_duration_seconds_bucket") {
      const b = get(x.labels).buckets;
      const le = x.labels.le === "+Inf" ? Infinity : Number(x.labels.le);
      b.set(le, (b.get(le) || 0) + x.value);
    }
  }
  return routes;
}

// The q-quantile (0..1) of a cumulative histogram, interpolated inside its bucket as
// Prometheus's histogram_quantile does; the top finite bound when it falls in +Inf.
export function quantile(buckets, q) {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = les.length ? buckets.get(les[les.length - 1]) : 0;
  if (!total) return undefined;
  const rank = q * total;
  let prev_le = 0, prev_count = 0;
  for (const le of les) {
    const c = buckets.get(le);
    if (c >= rank) {
      if (le === Infinity) return prev_le;
      return prev_le + ((le - prev_le) * (rank - prev_count)) / Math.max(c - prev_count, 1e-12);
    }
    prev_le = le; prev_count = c;
  }
  return prev_le;
}

// What happened between two scrapes of one route: the buckets of the difference.
export function delta(now, before) {
  if (!before) return now;
  const buckets = new Map();
  for (const [le, c] of now.buckets) buckets.set(le, c - (before.buckets.get(le) || 0));
  return { key: now.key, count: now.count - before.count, errors: now.errors - before.errors,
           sum: now.sum - before.sum, buckets };
}
