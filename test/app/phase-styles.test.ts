import { describe, expect, it } from 'vitest';
import type { PhaseId } from '../../core/src/model/types.js';
import { PHASE_IDS as ENGINE_PHASE_IDS } from '../../core/src/model/phases.js';
import { PHASE_IDS, PHASE_STYLES, phaseLabel } from '../../app/renderer/model/phaseStyles.js';

// Every PhaseId, checked by the compiler: adding an id to the model's union breaks this record.
const ALL_PHASE_IDS: Record<PhaseId, true> = {
  queueing: true,
  blocking: true,
  proxy: true,
  dns: true,
  connecting: true,
  ssl: true,
  sending: true,
  waiting: true,
  receiving: true,
  push: true,
};

describe('waterfall phase styles', () => {
  it('give every PhaseId a label and a colour', () => {
    for (const id of Object.keys(ALL_PHASE_IDS) as PhaseId[]) {
      expect(PHASE_STYLES[id], id).toBeDefined();
      expect(PHASE_STYLES[id].label.length).toBeGreaterThan(0);
      expect(PHASE_STYLES[id].color).toMatch(/^var\(--phase-[a-z]+, #[0-9a-f]{6}\)$/);
    }
    expect(new Set(PHASE_IDS)).toEqual(new Set(Object.keys(ALL_PHASE_IDS)));
  });

  it('cover every phase the engine can produce', () => {
    for (const id of ENGINE_PHASE_IDS) expect(PHASE_STYLES[id], id).toBeDefined();
  });

  it('use DevTools labels (labels live only in the UI)', () => {
    expect(phaseLabel('queueing')).toBe('Queueing');
    expect(phaseLabel('blocking')).toBe('Stalled');
    expect(phaseLabel('dns')).toBe('DNS Lookup');
    expect(phaseLabel('connecting')).toBe('Initial connection');
    expect(phaseLabel('ssl')).toBe('SSL');
    expect(phaseLabel('sending')).toBe('Request sent');
    expect(phaseLabel('waiting')).toBe('Waiting for server response');
    expect(phaseLabel('receiving')).toBe('Content Download');
  });

  it('draw connection-setup phases thinner, like DevTools', () => {
    for (const id of ['queueing', 'blocking', 'dns', 'connecting', 'ssl'] as PhaseId[]) expect(PHASE_STYLES[id].thin, id).toBe(true);
    for (const id of ['sending', 'waiting', 'receiving'] as PhaseId[]) expect(PHASE_STYLES[id].thin, id).toBe(false);
  });
});
