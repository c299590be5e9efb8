"""Alert notifications: episode transitions, routed to real receivers exactly once, audited.

One module per job:

- `transitions`: alert episodes -> transitions (opened, escalated, resolved), and
  silent tenants -> no_data / data_resumed;
- `events`: change events (deploys, failovers...) read from `<data>/events/*.csv`;
- `evidence`: the lake rows that support a transition, and their content hash;
- `render`: each channel's message, from jinja2 templates (never holds a secret);
- `report_links`: the report page at each SLO's anchor, which every message links to;
- `channels`: the wire protocols (Alertmanager, PagerDuty, Slack, webhook, SMTP);
- `outbox`: the durable outbox in `<warehouse>/state/outbox.duckdb` (and its silences);
- `audit`: the hash-chained, append-only audit log and its verification;
- `adjustment_audit`: the budget adjustments put in force or withdrawn, as audit records;
- `dispatch`: plans, enqueues, delivers with retries, re-sends firing alerts to
  Alertmanager each cycle, exports to the lake;
- `cli`: `burnwatch audit verify`.
"""
