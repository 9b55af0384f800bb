"""The status page as HTML, rendered on the server from the page model; every text is escaped here.

The page's own script (static/status.js) renders the same rows from `GET /status.json` after a
refresh, with DOM text nodes only; the markup below and that script's must stay alike.
"""

from __future__ import annotations

from html import escape

from exporter.web.status_page import MetricRow, RepoView, StatusPage, age_text

COLUMNS = ("Metric", "Value", "Goal", "Score", "Age", "State")
# Every repository's table names its columns for screen readers; one header row shows them on screen.
_HEAD = "<thead><tr>" + "".join(f'<th scope="col">{name}</th>' for name in COLUMNS) + "</tr></thead>"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def render(page: StatusPage, css_url: str, js_url: str) -> str:
    """The whole page; `css_url` and `js_url` are the page's own assets (the CSP allows only those)."""
    repos = "".join(_repo(repo) for repo in page.repos)
    columns = "".join(f"<span>{name}</span>" for name in COLUMNS)
    token = (
        '<label for="token">Refresh token</label>'
        '<input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="EXPORTER_REFRESH_TOKEN">'
        if page.token_required
        else ""
    )
    running = "A refresh is running." if page.refreshing else ""
    about = "".join(
        f'<dt id="about-{_e(m.key)}"><code>{_e(m.key)}</code>{f" (goal {_e(m.goal)})" if m.goal else ""}</dt>'
        f"<dd>{_e(m.description)}</dd>"
        for m in page.metrics
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>System health</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{_e(css_url)}">
<script src="{_e(js_url)}" defer></script>
</head>
<body data-refreshing="{"true" if page.refreshing else "false"}">
<header>
<h1>System health</h1>
<p id="summary">{_e(page.summary)}</p>
<dl class="facts">
<div><dt>Last refresh</dt><dd><span id="last-refresh">{_e(page.last_refresh)}</span>{_last_age(page)}</dd></div>
<div><dt>GitHub rate limit</dt><dd id="rate-limit">{_e(page.rate_limit)}</dd></div>
</dl>
<div class="actions" id="actions" hidden>
{token}<button type="button" id="refresh">Refresh now</button>
</div>
<p id="message" role="status" aria-live="polite">{running}</p>
<div class="filter" id="filter-box" hidden>
<label for="filter">Filter repositories</label>
<input id="filter" type="search" autocomplete="off" spellcheck="false" placeholder="owner/name">
</div>
</header>
<main>
<div class="columns" aria-hidden="true">{columns}</div>
<div id="repos">
{repos}
</div>
<p id="no-match" hidden>No repository matches the filter.</p>
<section id="about">
<h2>What the metrics mean</h2>
<dl>{about}</dl>
</section>
</main>
<footer>
<a href="/metrics">/metrics</a> · <a href="/catalog">metric catalog</a> · <a href="/readme">README</a> ·
<a href="/status.json">status.json</a> · <a href="/healthz">/healthz</a> ·
system-health-exporter {_e(page.version)} · page made {_e(page.generated_at)}
</footer>
</body>
</html>
"""


def _last_age(page: StatusPage) -> str:
    age = "" if page.last_refresh_age_seconds is None else f" ({_age(page.last_refresh_age_seconds)})"
    return f'<span id="last-refresh-age">{age}</span>'


def _age(seconds: float, at: str = "") -> str:
    title = f' title="computed {_e(at)}"' if at else ""
    return f'<span class="age" data-age="{seconds:.3f}"{title}>{_e(age_text(seconds))}</span>'


def _repo(repo: RepoView) -> str:
    rows = "".join(_row(row) for row in repo.rows)
    return (
        f'<section class="repo {_e(repo.state)}" data-repo="{_e(repo.name.casefold())}">'
        f'<h2><span class="name">{_e(repo.name)}</span> <span class="branch">{_e(repo.branch)}</span> '
        f'<span class="verdict">{_e(repo.summary)}</span></h2>'
        f"<table>{_HEAD}<tbody>{rows}</tbody></table></section>"
    )


def _row(row: MetricRow) -> str:
    labels = " ".join(f"{name} {value}" for name, value in row.labels.items())
    labelled = f' <span class="labels">{_e(labels)}</span>' if labels else ""
    age = _age(row.age_seconds, row.value_at) if row.age_seconds is not None else ""
    score = f"{row.verdict} {row.score}".strip()
    html = (
        f'<tr class="metric {_e(row.state)}"><th scope="row"><a class="key" href="#about-{_e(row.key)}">'
        f"{_e(row.key)}</a>{labelled}</th>"
        f'<td data-label="Value">{_e(row.value)}</td><td data-label="Goal">{_e(row.goal)}</td>'
        f'<td data-label="Score">{_e(score)}</td><td data-label="Age">{age}</td>'
        f'<td data-label="State">{_e(row.status)}</td></tr>'
    )
    if row.error is not None:
        html += (
            f'<tr class="error"><td colspan="{len(COLUMNS)}">Last error '
            f"({_e(row.error.reason)}, {_e(row.error.at)}): {_e(row.error.text)}</td></tr>"
        )
    return html
