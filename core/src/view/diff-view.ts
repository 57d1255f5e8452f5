/**
 * The diff of two open captures for the UI (`GET /api/diff?before=DOC&after=DOC` of the view
 * server; `wirefall view BEFORE --compare AFTER`): core's `diffReports` (diff/diff.ts) as it is,
 * plus which connections of each capture belong to each of its origins, named as diff/diff.ts names
 * them (`diffOriginOf`), so that the UI draws the two captures' lanes aligned per origin without
 * deciding what an origin is. Pure; Node-free.
 */
import type { Report, Request } from '../model/types.js';
import { diffOriginOf, diffReports, type Diff } from '../diff/diff.js';
import type { DocId } from './api.js';

/** Lanes drawn per origin and capture; the rest are counted (`DiffLanes.*Omitted`). */
export const MAX_DIFF_LANES = 200;

export interface DiffSideRef {
  doc: DocId;
  /** The capture's name as its tab shows it; also `diff.before.file` / `diff.after.file`. */
  title: string;
}

/** One origin's connections in each capture, by opening time (at most MAX_DIFF_LANES each). */
export interface DiffLanes {
  origin: string;
  before: number[];
  after: number[];
  beforeOmitted: number;
  afterOmitted: number;
}

export interface DiffViewModel {
  before: DiffSideRef;
  after: DiffSideRef;
  diff: Diff;
  /** In `diff.origins` order, one entry per origin. */
  lanes: DiffLanes[];
}

/** Connection ids per origin (diffOriginOf, with each connection's first request as diffReports takes it). */
export function connectionsByOrigin(report: Pick<Report, 'connections' | 'requests'>): Map<string, number[]> {
  const first = new Map<number, Request>();
  for (const r of report.requests) {
    const f = first.get(r.connectionId);
    if (!f || r.index < f.index) first.set(r.connectionId, r);
  }
  const out = new Map<string, number[]>();
  const conns = report.connections.slice().sort((a, b) => (a.synTime ?? a.firstTime) - (b.synTime ?? b.firstTime) || a.id - b.id);
  for (const c of conns) {
    const o = diffOriginOf(c, first.get(c.id));
    const l = out.get(o);
    if (l) l.push(c.id);
    else out.set(o, [c.id]);
  }
  return out;
}

export function toDiffView(before: Report, after: Report, b: DiffSideRef, a: DiffSideRef): DiffViewModel {
  const diff = diffReports(before, after, { before: b.title, after: a.title });
  const bl = connectionsByOrigin(before);
  const al = connectionsByOrigin(after);
  const lanes = diff.origins.map((o): DiffLanes => {
    const x = bl.get(o.origin) ?? [];
    const y = al.get(o.origin) ?? [];
    return {
      origin: o.origin,
      before: x.slice(0, MAX_DIFF_LANES),
      after: y.slice(0, MAX_DIFF_LANES),
      beforeOmitted: Math.max(0, x.length - MAX_DIFF_LANES),
      afterOmitted: Math.max(0, y.length - MAX_DIFF_LANES),
    };
  });
  return { before: b, after: a, diff, lanes };
}
