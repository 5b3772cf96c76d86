package watermark

import "html/template"

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #1b1b1b; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta, .detail { color: #555; font-size: 0.9em; }
.verdict { font-weight: 600; }
.hit { color: #a40000; }
.miss { color: #2d6a2d; }
table { border-collapse: collapse; width: 100%; margin: 0.8em 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
blockquote { margin: 0.5em 0; padding: 0.4em 0.8em; background: #f6f6f6; border-left: 3px solid #ccc; white-space: pre-wrap; }
svg { max-width: 100%; height: auto; background: #fff; }
svg .axisline { stroke: #999; } svg .zero { stroke: #bbb; stroke-dasharray: 2 3; }
svg .obs { fill: none; stroke: #1f5fa8; stroke-width: 2; }
svg .bound { fill: none; stroke: #c0392b; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .tick, svg .label { text-anchor: end; } svg .legend { fill: #555; }
svg .bar { fill: #9ab; } svg .bar.hit { fill: #c0392b; }
code { background: #f3f3f3; padding: 0 3px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">Made {{.Date}} by qilin{{if .Command}}: <code>{{.Command}}</code>{{end}}</p>

<h2 id="summary">Summary</h2>
<ul>
{{range .TextItems}}<li>Text <strong>{{.Name}}</strong>: <span class="verdict {{if .Hit}}hit{{else}}miss{{end}}">{{.Verdict}}</span>, {{.P}}</li>
{{end}}{{range .SuspectItems}}<li>Suspect <strong>{{.Name}}</strong>: <span class="verdict {{if .Hit}}hit{{else}}miss{{end}}">{{.Verdict}}</span>, {{.P}}</li>
{{end}}</ul>
<p>A p-value is the probability that text (or a model) with no connection to our key would show evidence at least this strong. It is exact, corrected for every key, and for the spans, that were tried; the threshold is {{.Threshold}}.</p>
{{.PChart}}

{{if .TextItems}}<h2 id="texts">Texts</h2>
{{range .TextItems}}<h3>{{.Name}}: <span class="{{if .Hit}}hit{{else}}miss{{end}}">{{.Verdict}}</span>, {{.P}}</h3>
{{if .Excerpt}}<blockquote>{{.Excerpt}}</blockquote>{{end}}
<p class="detail">{{.Detail}}</p>
{{range .Spans}}<p class="detail">Watermarked span: tokens {{.Start}} to {{.End}}, p = {{printf "%.2g" .PValue}}</p>{{end}}
{{.Chart}}
{{end}}{{end}}

{{if .SuspectItems}}<h2 id="suspects">Suspect models</h2>
{{range .SuspectItems}}<h3>{{.Name}}: <span class="{{if .Hit}}hit{{else}}miss{{end}}">{{.Verdict}}</span>, {{.P}}</h3>
<p class="detail">{{.Detail}}</p>
{{.Chart}}
{{end}}{{end}}

<h2 id="method">Method</h2>
<p>Every token our server generated was chosen with a secret key. For each position, HMAC-SHA256 of the previous tokens (the context window) under the key's secret gives every possible next token a number u, uniform between 0 and 1, that nobody without the secret can compute.</p>
<ul>
<li><strong>gumbel</strong> (Aaronson): the server picks the token that maximizes u<sup>1/p</sup> under the model's distribution p. Each token is still drawn with exactly the model's probability, but the chosen tokens have high u. Evidence: the sum of −ln(1−u) over the text, which for text not made with the key follows a Gamma(n, 1) law.</li>
<li><strong>redgreen</strong> (Kirchenbauer et al.): the tokens with u below γ are green, and the server adds δ to their logits. Evidence: the number of green tokens, Binomial(n, γ) for text not made with the key.</li>
</ul>
<p>The text is split into tokens with the model's tokenizer. Each distinct (window, token) pair counts once, so repeated phrases are not counted as new evidence. A localized search also tests stretches of the text, so that a marked passage inside longer unmarked text is found; the p-values are corrected for every stretch and key tried (Bonferroni).</p>
<p>Radioactivity (Sander et al., 2024): our marked outputs, as we collected them, are read through the suspect model, and at each position its most likely next token is scored against the window before it. A model fine-tuned on our marked outputs learned the key's choices after those windows and predicts them; any other model, which knows nothing of the key, scores as chance, so its p-values are uniform. Only windows read for the first time count: after an earlier occurrence the key chose the token that the suspect then read, and even an innocent model may copy it. Without our outputs, the suspect writes text of its own and its predictions along it are scored the same way (a much weaker test). A suspect behind an API answers our prompts, and its answers are scored as texts.</p>

<h2 id="limits">What this shows, and what it does not</h2>
<ul>
<li>A small p-value shows that the text, or the model's preferences, depend on our secret key: by chance this happens with probability p. It does not show who ran the model, nor that every part of a text is ours (see the spans).</li>
<li>A large p-value is not proof of innocence. Paraphrasing, translating, or replacing many tokens removes the mark: each changed token breaks the window of the next ones. Short texts carry little evidence.</li>
<li>Greedy decoding (temperature 0) cannot carry a watermark; such answers are never marked.</li>
<li>Someone who holds the key file can mark text as ours, or strip the mark. Keep it secret.</li>
</ul>

<h2 id="parameters">Parameters</h2>
<table>
<caption class="meta">Keys tried (secrets are not shown)</caption>
<tr><th>key id</th><th>scheme</th><th>context width</th><th>γ</th><th>δ</th></tr>
{{range .Keys}}<tr><td>{{.ID}}</td><td>{{.Scheme}}</td><td>{{.Context}}</td><td>{{if .Gamma}}{{.Gamma}}{{else}}-{{end}}</td><td>{{if .Delta}}{{.Delta}}{{else}}-{{end}}</td></tr>
{{end}}</table>
{{if .Model}}<p class="detail">Tokenizer: {{.Model}}</p>{{end}}
</body>
</html>
`))
