import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import yaml from 'js-yaml';
import { CHART, ROOT, ofKind, render } from './helm.js';

const GUIDE = path.join(ROOT, 'docs/operations.md');

/** The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The headings of a Markdown text outside code blocks, with their level. */
function headings(markdown: string): { level: number; text: string }[] {
  let fenced = false;
  const found: { level: number; text: string }[] = [];
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^(#{1,6}) (.+)$/.exec(line);
    if (m) found.push({ level: m[1]!.length, text: m[2]! });
  }
  return found;
}

/** The entries of the guide's `## Runbook` section: its `###` headings. */
function runbookEntries(all: { level: number; text: string }[]): string[] {
  const start = all.findIndex((h) => h.level === 2 && h.text === 'Runbook');
  const end = all.findIndex((h, i) => i > start && h.level <= 2);
  return all.slice(start + 1, end === -1 ? undefined : end).filter((h) => h.level === 3).map((h) => h.text);
}

test('the anchor function matches the anchors GitHub makes', () => {
  expect(anchorOf('DreyHttp5xxRatio')).toBe('dreyhttp5xxratio');
  expect(anchorOf("From CMF's Helm values")).toBe('from-cmfs-helm-values');
  expect(anchorOf('HA and failover')).toBe('ha-and-failover');
});

test('every alert links its runbook entry, and every runbook entry is an alert', async () => {
  const [{ objects }, guide, chart] = await Promise.all([render('monitoring-values.yaml', '1.30.0'), readFile(GUIDE, 'utf8'), readFile(path.join(CHART, 'Chart.yaml'), 'utf8')]);
  const home = (yaml.load(chart) as { home: string }).home;
  const rules: { alert: string; annotations?: Record<string, string> }[] = ofKind(objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules));
  const alerts = rules.map((r) => r.alert);
  expect(alerts.length).toBeGreaterThanOrEqual(7);

  const all = headings(guide);
  const anchors = new Set(all.map((h) => anchorOf(h.text)));
  const prefix = `${home}/blob/main/docs/operations.md#`;
  for (const rule of rules) {
    const url = rule.annotations?.runbook_url ?? '';
    expect({ alert: rule.alert, url: url.startsWith(prefix) }).toEqual({ alert: rule.alert, url: true });
    expect({ alert: rule.alert, anchorFound: anchors.has(url.slice(prefix.length)) }).toEqual({ alert: rule.alert, anchorFound: true });
    expect(url.slice(prefix.length)).toBe(anchorOf(rule.alert));
  }

  const entries = runbookEntries(all);
  expect([...entries].sort()).toEqual([...alerts].sort());
});
