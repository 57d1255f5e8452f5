export function findElectronBinary(env?: Record<string, string | undefined>): { path: string | null; reason: string };
export function hasDisplay(env?: Record<string, string | undefined>, platform?: string): boolean;
