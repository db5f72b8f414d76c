"""The report page: one jinja2 template, autoescaped, relative links only, no network, so it
opens from disk anywhere. Counts carry `data-count` attributes naming what they count, so a
browser test can read them back and compare them with the index.

The page is read-only: its one script lets a reader mark cards accept / reject / verify and
download the marks as decisions.csv, which `ace data curate DIR --from decisions.csv` records
(the served review page, `ace data review`, records them at once instead)."""

from __future__ import annotations

from typing import Any

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Audit: {{ name }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 2em 4em; color: #222; }
nav { position: sticky; top: 0; background: #fff; padding: .5em 0; border-bottom: 1px solid #ddd; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: .5em 2em 1em 0; display: inline-table;
        vertical-align: top; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; }
.plots figure { margin: 0; width: 336px; }
figcaption, .meta { font-size: 12px; color: #555; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; padding: 6px; max-width: 520px; }
.card img { display: block; max-width: 100%; }
.card .instruction { margin: 4px 0; }
.card .reason { color: #b00; }
.scores { font-size: 11px; color: #444; }
.band { margin: .5em 0 1em; }
.band > span { font-weight: 600; display: block; }
code { font-size: 12px; }
.decide button { font-size: 11px; padding: 0 5px; }
.card[data-decision="reject"] { border-color: #c0392b; }
.card[data-decision="accept"] { border-color: #2f8a3b; }
.card[data-decision="verify"] { border-color: #1a64d6; }
#decisions { position: fixed; right: 1em; bottom: 1em; background: #fff; border: 1px solid #aaa;
             padding: 6px 10px; font-size: 12px; }
</style>
</head>
<body>
<h1>Audit: {{ name }}</h1>
<p>{{ s.rows }} rows in {{ shards }} shards{% if ended %}, run ended {{ ended }}{% endif %}:
<b data-count="accepted">{{ s.accepted }}</b> samples accepted,
<span data-count="curated_out">{{ curated_out }}</span> removed by the curation table,
<span data-count="rejected">{{ rejected }}</span> rejected by thresholds,
<span data-count="failed">{{ failed }}</span> failed.</p>
<nav><a href="#counts">counts</a><a href="#selection">selection</a><a href="#scores">scores</a>
<a href="#gallery">gallery</a><a href="#bands">score bands</a><a href="#rejected">rejected</a>
<a href="#failed">failed</a></nav>

<section id="counts">
<h2>Counts</h2>
<table id="by-status"><tr><th>status</th><th>rows</th></tr>
{% for status, n in by_status %}<tr><td>{{ status }}</td>
<td class="n" data-count="status:{{ status }}">{{ n }}</td></tr>
{% endfor %}</table>
<table id="by-split"><tr><th>split</th>{% for k in kinds %}<th>{{ k }}</th>{% endfor %}</tr>
{% for split, counts in by_split %}<tr><td>{{ split }}</td>{% for k in kinds %}
<td class="n" data-count="split:{{ split }}:{{ k }}">{{ counts[k] }}</td>{% endfor %}</tr>
{% endfor %}</table>
<table id="by-category"><tr><th>category</th><th>accepted</th></tr>
{% for category, n in by_category %}<tr><td>{{ category }}</td>
<td class="n" data-count="category:{{ category }}">{{ n }}</td></tr>
{% endfor %}</table>
<table id="by-task"><tr><th>task</th><th>category</th>
{% for k in kinds %}<th>{{ k }}</th>{% endfor %}</tr>
{% for task, c in tasks %}<tr><td><a href="#task-{{ task }}">{{ task }}</a></td>
<td>{{ c.category }}</td>{% for k in kinds %}
<td class="n" data-count="task:{{ task }}:{{ k }}">{{ c[k] }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>

<section id="selection">
<h2>What selection removed</h2>
{% if reasons %}<table><tr><th>reason</th><th>samples</th></tr>
{% for reason, n in reasons %}<tr><td>{{ reason }}</td>
<td class="n" data-count="reason:{{ reason }}">{{ n }}</td></tr>
{% endfor %}</table>
<p class="meta">A sample rejected by several thresholds counts once under each.</p>
{% else %}<p>Nothing: no threshold, quota or decision rejected a sample.</p>{% endif %}
</section>

<section id="scores">
<h2>Score distributions</h2>
{% if plots %}<div class="plots">{% for name, src, meaning in plots %}
<figure><img class="plot" src="{{ src }}" alt="histogram of {{ name }}">
<figcaption><b>{{ name }}</b>: {{ meaning }}</figcaption></figure>{% endfor %}</div>
{% else %}<p>No scores: add scorer stages (quality_scores, clip_scores, text_legibility)
to the recipe.</p>{% endif %}
</section>

{% macro scores(item) -%}
{% for n, v in item.scores|dictsort %}{{ n }} {{ "%.3g"|format(v) }}
{%- if not loop.last %} · {% endif %}{% endfor %}
{%- endmacro %}

{% macro card(item) -%}
<div class="card" data-key="{{ item.key }}">
{% if item.key in strips %}<img class="strip" src="{{ strips[item.key] }}"
 alt="frames, masks and target of {{ item.key }}">{% endif %}
<div class="instruction">{{ item.instruction or "(no instruction)" }}</div>
{% if item.reason %}<div class="reason">{{ item.reason }}</div>{% endif %}
<div class="scores">{{ scores(item) }}</div>
<div class="meta"><code>{{ item.key }}</code> {{ item.task }} · {{ item.shard }}</div>
{% if item.status == "ok" %}<div class="decide"><button data-decision="accept">accept</button>
<button data-decision="reject">reject</button>
<button data-decision="verify">verify</button></div>{% endif %}
</div>
{%- endmacro %}

<section id="gallery">
<h2>Gallery per task</h2>
<p class="meta">Each strip: the input frames (each followed by its mask), then the target.
Up to {{ limits.per_task }} accepted samples per task.</p>
{% for task, items in s.gallery.items() %}
<h3 id="task-{{ task }}">{{ task }} <span class="meta">{{ s.tasks[task].category }},
{{ s.tasks[task].accepted }} accepted</span></h3>
<div class="cards" data-gallery="{{ task }}">
{% for item in items %}{{ card(item) }}{% endfor %}</div>
{% endfor %}
</section>

<section id="bands">
<h2>Samples per score band</h2>
{% for name, bands in s.bands.items() %}
<h3>{{ name }}</h3>
{% for band in bands %}<div class="band">
<span>{{ "%.3g"|format(band.low) }} to {{ "%.3g"|format(band.high) }}</span>
<div class="cards">{% for item in band.items %}{{ card(item) }}{% endfor %}</div></div>{% endfor %}
{% endfor %}
</section>

<section id="rejected">
<h2>Rejected</h2>
<h3>Removed by the curation table <span class="meta">(near duplicates, quotas, people's
decisions: their images are still in the shards;
{{ s.curated|length }} of {{ curated_out }} shown)</span></h3>
<div class="cards" id="curated">{% for item in s.curated %}{{ card(item) }}{% endfor %}</div>
<h3>Rejected by thresholds while building <span class="meta">(their images were not written;
{{ s.rejected|length }} of {{ rejected }} listed)</span></h3>
<table id="rejected-rows"><tr><th>key</th><th>task</th><th>reason</th><th>scores</th></tr>
{% for item in s.rejected %}<tr data-key="{{ item.key }}">
<td><code>{{ item.key }}</code></td><td>{{ item.task }}</td>
<td>{{ item.reason }}</td><td class="scores">{{ scores(item) }}</td></tr>
{% endfor %}</table>
</section>

<section id="failed">
<h2>Failed rows</h2>
<table><tr><th>status</th><th>rows</th><th>examples</th></tr>
{% for status, examples in s.failed_examples.items() %}<tr><td>{{ status }}</td>
<td class="n">{{ s.by_status[status] }}</td><td>{{ examples|join(" | ") }}</td></tr>
{% endfor %}</table>
</section>

<div id="decisions"><label>by <input id="by" size="8" value="reviewer"></label>
<span id="marked">0</span> marked · <a id="download" download="decisions.csv"
href="data:text/csv,">download decisions.csv</a>
<div class="meta">then: ace data curate DIR --from decisions.csv</div></div>
<script>
// Marks made on this page, kept in the page only (it is read-only): key -> decision.
"use strict";
const marks = new Map();
const quote = (text) => `"${String(text).replaceAll('"', '""')}"`;
function decisionsCsv() {
  const by = document.getElementById("by").value.trim() || "reviewer";
  const rows = [...marks].map(([key, decision]) => [key, decision, "", by].map(quote).join(","));
  return ["key,decision,reason,by", ...rows].join("\\n") + "\\n";
}
function refresh() {
  document.getElementById("marked").textContent = marks.size;
  const link = document.getElementById("download");
  URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([decisionsCsv()], { type: "text/csv" }));
}
document.addEventListener("click", (event) => {
  const button = event.target.closest(".decide button");
  if (!button) return;
  const key = button.closest(".card").dataset.key;
  const decision = button.dataset.decision;
  if (marks.get(key) === decision) marks.delete(key);  // a second press takes the mark back
  else marks.set(key, decision);
  for (const card of document.querySelectorAll(".card")) {  // a sample may be shown twice
    if (card.dataset.key !== key) continue;
    if (marks.has(key)) card.dataset.decision = marks.get(key);
    else delete card.dataset.decision;
  }
  refresh();
});
document.getElementById("by").addEventListener("change", refresh);
</script>
</body>
</html>
"""

KINDS = ("accepted", "curated_out", "rejected", "failed")


def render(context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(kinds=KINDS, **context)
