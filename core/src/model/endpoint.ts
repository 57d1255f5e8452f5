/**
 * How every view writes a TCP endpoint: `ip:port`, an IPv6 address in brackets (`[2001:db8::1]:443`,
 * RFC 3986 §3.2.2), so its colons cannot be mistaken for the port separator. The CLI, the detectors'
 * summaries and the UI (view/compact.ts) all call this one function.
 */
export function endpointText(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}
