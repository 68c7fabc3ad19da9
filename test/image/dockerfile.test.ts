import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

const root = new URL('../../', import.meta.url);
const text = readFileSync(new URL('Dockerfile', root), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const stages = dockerfile.getFROMs();
const instructions = dockerfile.getInstructions();
/** The instructions after the last FROM: the runtime stage. */
const final = instructions.filter((i) => i.getRange().start.line > stages.at(-1)!.getRange().start.line);
const args = (keyword: string, within = instructions) => within.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');
/** Whole instructions (flags included), without the keyword. */
const lines = (keyword: string, within = instructions) => within.filter((i) => i.getKeyword() === keyword).map((i) => i.getTextContent().slice(keyword.length).trim());

describe('the Dockerfile', () => {
  it('has no syntax problems', () => {
    expect(validate(text)).toEqual([]);
  });

  it('builds in stages from base images named by ARGs, never latest', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const initial = instructions.filter((i) => i.getKeyword() === 'ARG' && i.getRange().start.line < stages[0]!.getRange().start.line);
    const declared = new Map(initial.map((a) => a.getArgumentsContent()!.split('=') as [string, string]));
    for (const from of stages) {
      const image = from.getArguments()[0]!.getValue();
      expect(image).toMatch(/^\$\{\w+\}$/);
      const value = declared.get(image.slice(2, -1));
      expect(value).toMatch(/:[\w.-]+/);
      expect(value).not.toMatch(/:latest\b/);
    }
  });

  it('installs from the lockfile, production dependencies only in the runtime stage', () => {
    const runs = args('RUN');
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm install\b/.test(r))).toBe(false);
    const copiedDeps = lines('COPY', final).find((c) => /node_modules/.test(c))!;
    const from = /--from=([\w-]+)/.exec(copiedDeps)![1]!;
    const stage = stages.find((s) => s.getBuildStage() === from)!;
    const stageRuns = instructions.filter((i) => i.getKeyword() === 'RUN' && i.getRange().start.line > stage.getRange().start.line && i.getRange().start.line < stages[stages.indexOf(stage) + 1]!.getRange().start.line);
    expect(stageRuns.map((r) => r.getArgumentsContent()).join('\n')).toMatch(/npm ci .*--omit=dev/);
  });

  it('runs as a numeric non-root user, with an exec-form entry point', () => {
    const user = args('USER', final).at(-1)!;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const entry = args('ENTRYPOINT', final).at(-1)!;
    expect(JSON.parse(entry)).toEqual(['/nodejs/bin/node', 'dist/main.js']);
    expect(args('ENV', final).join(' ')).toMatch(/NODE_ENV=production/);
  });

  it('adds nothing from a URL', () => {
    expect(args('ADD').filter((a) => /https?:\/\//.test(a))).toEqual([]);
  });

  it('copies only paths the repository holds or an earlier stage produced', () => {
    for (const copy of lines('COPY').filter((c) => !c.includes('--from='))) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) expect({ source, exists: existsSync(new URL(source, root)) }).toEqual({ source, exists: true });
    }
  });

  it('ships the migrations where src/store/migrate.ts and the OpenAPI document where src/api/openapi.ts look for them', () => {
    const copies = args('COPY', final).join('\n');
    expect(copies).toMatch(/prisma\/migrations \.\/prisma\/migrations/);
    expect(copies).toMatch(/openapi\/drey\.yaml \.\/openapi\/drey\.yaml/);
    expect(args('WORKDIR', final).at(-1)).toBe('/app');
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, history, local state, tests and build output out of the context', () => {
    const ignored = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n').map((l) => l.trim());
    for (const path of ['node_modules', '.git', '.drey', 'test', 'dist']) expect(ignored).toContain(path);
  });
});
