import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { CHART, ofKind, render } from './helm.js';
import { METRIC_NAMES, seriesOf } from './metricNames.js';

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects: label matchers, strings, durations, groupings and function names removed. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)/g)].filter((m) => m[2] === '' && !PROMQL_WORDS.has(m[1]!)).map((m) => m[1]!);
  return [...new Set(names)];
}

const allowed = new Set(METRIC_NAMES.flatMap(seriesOf));

test('the expression parser finds metric names and nothing else', () => {
  expect(metricsIn('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{code=~"5..",job="x"}[5m]))) > 1')).toEqual([
    'http_request_duration_seconds_bucket',
  ]);
  expect(metricsIn('absent(drey_build_info{namespace="drey"}) or up')).toEqual(['drey_build_info', 'up']);
});

test('the alerts use only metrics drey exposes', async () => {
  const { objects } = await render('monitoring-values.yaml', '1.30.0');
  const rules = ofKind(objects, 'PrometheusRule')[0]!.spec.groups.flatMap((g: any) => g.rules);
  const used = rules.flatMap((r: any) => metricsIn(r.expr));
  expect(used.length).toBeGreaterThanOrEqual(rules.length);
  expect(used.filter((m: string) => !allowed.has(m))).toEqual([]);
});

test('the dashboard uses only metrics drey exposes, in every panel and variable', async () => {
  const dashboard = JSON.parse(await readFile(path.join(CHART, 'dashboards/drey.json'), 'utf8'));
  const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
  const variables: string[] = dashboard.templating.list.filter((v: any) => v.type === 'query').map((v: any) => v.query.query);
  const used = [...exprs.flatMap(metricsIn), ...variables.map((q) => /^label_values\(([A-Za-z_:][A-Za-z0-9_:]*)/.exec(q)![1]!)];
  expect(exprs.length).toBeGreaterThan(20);
  expect(used.filter((m) => !allowed.has(m))).toEqual([]);
  expect(exprs.every((e) => e.includes('namespace="$namespace",job=~"$job"'))).toBe(true);
});
