#!/usr/bin/env python3
"""Ground-truth summary of an HTTPS capture, made with tshark (used for samples/tls/README facts).

  samples/tools/tls-summarize.py [--keys KEYLOG] [--json] [--check GROUND_TRUTH.json] FILE

Per TCP connection (tcp.stream order; client = the side that sent the SYN): endpoints, time span,
TLS version, cipher suite (IANA name), ALPN, SNI, resumption, encrypt_then_mac in the two hellos,
alerts (with direction; TLS 1.3 alerts are only readable with the key log), requests (HTTP/1.x
request lines, or h2 "METHOD PATH" per HEADERS from the client) and responses, who sent the
first FIN / RST, and how many TLS records stayed encrypted. With --check, compares the facts
with the file's entry in a ground-truth JSON (only the keys given there) and exits 1 on a
difference. Needs tshark (4.0), stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys

SEP = '\x1f'


def tshark(path, keys, dfilter, fields, two_pass=False):
    cmd = ['tshark', '-n', '-r', path]
    if keys:
        cmd += ['-o', 'tls.keylog_file:' + keys]
    # HTTP/2 in TLS: tshark finds it through ALPN; also decode the reassembled body-less cases
    cmd += ['-o', 'tcp.reassemble_out_of_order:TRUE']
    if two_pass:
        cmd += ['-2']
    cmd += ['-Y', dfilter, '-T', 'fields', '-E', 'separator=' + SEP, '-E', 'occurrence=a', '-E', 'aggregator=' + '\x1e']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.split('\n'):
        if not line:
            continue
        cols = line.split(SEP)
        cols += [''] * (len(fields) - len(cols))
        rows.append({f: (c.split('\x1e') if c != '' else []) for f, c in zip(fields, cols)})
    return rows


_CIPHERS = None


def cipher_name(code):
    global _CIPHERS
    if _CIPHERS is None:
        _CIPHERS = {}
        out = subprocess.run(['tshark', '-G', 'values'], capture_output=True, text=True).stdout
        for line in out.splitlines():
            p = line.split('\t')
            if len(p) == 4 and p[0] == 'V' and p[1] == 'tls.handshake.ciphersuite':
                _CIPHERS[int(p[2])] = p[3]
    v = int(code, 16)
    return _CIPHERS.get(v, code)


VERSIONS = {'0x0304': '1.3', '0x0303': '1.2', '0x0302': '1.1', '0x0301': '1.0'}
ALERTS = {'0': 'close_notify', '10': 'unexpected_message', '20': 'bad_record_mac', '40': 'handshake_failure',
          '42': 'bad_certificate', '43': 'unsupported_certificate', '44': 'certificate_revoked',
          '45': 'certificate_expired', '46': 'certificate_unknown', '47': 'illegal_parameter', '48': 'unknown_ca',
          '50': 'decode_error', '51': 'decrypt_error', '70': 'protocol_version', '80': 'internal_error',
          '86': 'inappropriate_fallback', '90': 'user_canceled', '109': 'missing_extension',
          '112': 'unrecognized_name', '116': 'certificate_required', '120': 'no_application_protocol'}


def first(row, f, default=''):
    v = row.get(f) or []
    return v[0] if v else default


def summarize(path, keys):
    conns = {}

    def c(s):
        return conns.setdefault(int(s), {'stream': int(s), 'requests': [], 'responses': 0, 'alerts': [],
                                         'firstClose': None, 'closeKind': None})

    # TCP: endpoints, times, SYN, FIN, RST
    for r in tshark(path, keys, 'tcp', ['tcp.stream', 'frame.time_relative', 'ip.src', 'ipv6.src', 'tcp.srcport',
                                        'ip.dst', 'ipv6.dst', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.ack',
                                        'tcp.flags.fin', 'tcp.flags.reset', 'tls.record.version',
                                        'tls.record.content_type']):
        x = c(first(r, 'tcp.stream'))
        t = float(first(r, 'frame.time_relative'))
        src = (first(r, 'ip.src') or '[' + first(r, 'ipv6.src') + ']') + ':' + first(r, 'tcp.srcport')
        dst = (first(r, 'ip.dst') or '[' + first(r, 'ipv6.dst') + ']') + ':' + first(r, 'tcp.dstport')
        if 'client' not in x or (first(r, 'tcp.flags.syn') == '1' and first(r, 'tcp.flags.ack') == '0'):
            if first(r, 'tcp.flags.syn') == '1' and first(r, 'tcp.flags.ack') == '1':
                x['client'], x['server'] = dst, src
            else:
                x['client'], x['server'] = src, dst
        x.setdefault('start', t)
        x['end'] = t
        who = 'client' if src == x['client'] else 'server'
        if x['firstClose'] is None:
            if first(r, 'tcp.flags.reset') == '1':
                x['firstClose'], x['closeKind'], x['closeAt'] = who, 'RST', round(t, 4)
            elif first(r, 'tcp.flags.fin') == '1':
                x['firstClose'], x['closeKind'], x['closeAt'] = who, 'FIN', round(t, 4)
        if first(r, 'tcp.flags.reset') == '1':
            x.setdefault('rstBy', []).append(who) if who not in x.get('rstBy', []) else None
        x['undecryptedRecords'] = x.get('undecryptedRecords', 0) + \
            len(r['tls.record.version']) - len(r['tls.record.content_type'])
        x['_dir'] = x.get('_dir', {})
        x['_dir'][src] = who

    def who(x, r):
        src = (first(r, 'ip.src') or '[' + first(r, 'ipv6.src') + ']') + ':' + first(r, 'tcp.srcport')
        return 'client' if src == x['client'] else 'server'

    common = ['tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport']
    # ClientHello
    for r in tshark(path, keys, 'tls.handshake.type==1',
                    common + ['tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str',
                              'tls.handshake.extension.type', 'tls.handshake.extensions.supported_version']):
        x = c(first(r, 'tcp.stream'))
        x['clientHellos'] = x.get('clientHellos', 0) + 1
        x['sni'] = first(r, 'tls.handshake.extensions_server_name') or None
        x['offeredAlpn'] = r['tls.handshake.extensions_alpn_str']
        ext = r['tls.handshake.extension.type']
        x['clientEtm'] = '22' in ext
        x['clientOfferedPsk'] = '41' in ext
        x['clientOfferedTicket'] = '35' in ext
    # ServerHello
    for r in tshark(path, keys, 'tls.handshake.type==2',
                    common + ['tls.handshake.version', 'tls.handshake.extensions.supported_version',
                              'tls.handshake.ciphersuite', 'tls.handshake.extensions_alpn_str',
                              'tls.handshake.extension.type', 'tls.handshake.random']):
        x = c(first(r, 'tcp.stream'))
        sv = first(r, 'tls.handshake.extensions.supported_version') or first(r, 'tls.handshake.version')
        x['tls'] = VERSIONS.get(sv, sv)
        x['cipher'] = cipher_name(first(r, 'tls.handshake.ciphersuite'))
        ext = r['tls.handshake.extension.type']
        x['serverEtm'] = '22' in ext
        x['_pskAccepted'] = '41' in ext
        if first(r, 'tls.handshake.extensions_alpn_str'):
            x['alpn'] = first(r, 'tls.handshake.extensions_alpn_str')
    # TLS 1.3: ALPN is in EncryptedExtensions (needs the keys)
    for r in tshark(path, keys, 'tls.handshake.type==8', common + ['tls.handshake.extensions_alpn_str']):
        x = c(first(r, 'tcp.stream'))
        if r['tls.handshake.extensions_alpn_str']:
            x['alpn'] = r['tls.handshake.extensions_alpn_str'][-1]
    certs = set(int(first(r, 'tcp.stream')) for r in tshark(path, keys, 'tls.handshake.type==11', ['tcp.stream']))
    tickets = {}
    for r in tshark(path, keys, 'tls.handshake.type==4', ['tcp.stream', 'tls.handshake.type']):
        s = int(first(r, 'tcp.stream'))
        tickets[s] = tickets.get(s, 0) + r['tls.handshake.type'].count('4')
    for r in tshark(path, keys, 'tls.alert_message', common + ['frame.time_relative', 'tls.alert_message.level',
                                                                'tls.alert_message.desc']):
        x = c(first(r, 'tcp.stream'))
        for lvl, d in zip(r['tls.alert_message.level'], r['tls.alert_message.desc']):
            x['alerts'].append({'from': who(x, r), 'level': 'fatal' if lvl == '2' else 'warning',
                                'desc': ALERTS.get(d, d), 't': round(float(first(r, 'frame.time_relative')), 4)})
    # HTTP/1.x
    for r in tshark(path, keys, 'http.request || http.response',
                    common + ['http.request.method', 'http.request.uri', 'http.request.version', 'http.response.code']):
        x = c(first(r, 'tcp.stream'))
        for m, u, v in zip(r['http.request.method'], r['http.request.uri'], r['http.request.version']):
            x['requests'].append(f'{m} {u} {v}')
        x['responses'] += sum(1 for code in r['http.response.code'] if not code.startswith('1'))
    # HTTP/2: per packet, frame types and stream ids are aligned; request HEADERS carry :method/:path
    for r in tshark(path, keys, 'http2.type==1',
                    common + ['http2.type', 'http2.streamid', 'http2.headers.method', 'http2.headers.path',
                              'http2.headers.status', 'http2.headers.authority']):
        x = c(first(r, 'tcp.stream'))
        ms, ps = list(r['http2.headers.method']), list(r['http2.headers.path'])
        for m, p in zip(ms, ps):
            x['requests'].append(f'{m} {p}')
        for au in r['http2.headers.authority']:
            if au not in x.setdefault('authorities', []):
                x['authorities'].append(au)
        x['responses'] += sum(1 for code in r['http2.headers.status'] if not code.startswith('1'))
        sids = x.setdefault('h2StreamIds', [])
        if who(x, r) == 'client':
            for t, sid in zip(r['http2.type'], r['http2.streamid']):
                if t == '1' and int(sid) not in sids:
                    sids.append(int(sid))
    H2ERR = {'0': 'NO_ERROR', '1': 'PROTOCOL_ERROR', '2': 'INTERNAL_ERROR', '8': 'CANCEL'}
    for r in tshark(path, keys, 'http2.type==7', common + ['http2.goaway.error']):
        x = c(first(r, 'tcp.stream'))
        for e in r['http2.goaway.error']:
            x.setdefault('goaway', []).append(f'{who(x, r)} {H2ERR.get(str(int(e, 0)), e)}')
    out = []
    for s in sorted(conns):
        x = conns[s]
        x.pop('_dir', None)
        if 'tls' in x:
            if x['tls'] == '1.3':
                x['resumed'] = bool(x.pop('_pskAccepted', False))
            else:
                x.pop('_pskAccepted', None)
                x['resumed'] = s not in certs
            x['newSessionTickets'] = tickets.get(s, 0)
        else:
            x.pop('_pskAccepted', None)
        x['start'] = round(x['start'], 4)
        x['end'] = round(x['end'], 4)
        x['closeNotify'] = [a['from'] for a in x['alerts'] if a['desc'] == 'close_notify']
        # who ended the connection first: the first close_notify / fatal alert, FIN or RST
        ends = [(a['t'], a['from'], a['desc']) for a in x['alerts'] if a['desc'] == 'close_notify' or a['level'] == 'fatal']
        if x['firstClose']:
            ends.append((x['closeAt'], x['firstClose'], x['closeKind']))
        if ends:
            t, w, k = min(ends, key=lambda e: e[0])
            x['closedBy'], x['closedWith'] = w, k
        out.append(x)
    return out


def check(conns, gt, name):
    """Compare the facts with a ground-truth entry; returns a list of differences."""
    diffs = []

    def cmp(label, want, got):
        if want == 'either':
            return
        if want != got:
            diffs.append(f'{label}: expected {want!r}, got {got!r}')

    if 'connectionCount' in gt:
        cmp('connectionCount', gt['connectionCount'], len(conns))
    if 'connectionsWithRequests' in gt:
        cmp('connectionsWithRequests', gt['connectionsWithRequests'], sum(1 for x in conns if x['requests']))
    if 'requestCount' in gt:
        cmp('requestCount', gt['requestCount'], sum(len(x['requests']) for x in conns))
    if 'requestSet' in gt:
        cmp('requestSet', sorted(gt['requestSet']), sorted(r for x in conns for r in x['requests']))
    def cmp_conn(x, want):
        for k, v in want.items():
            if k.startswith('_') or k in ('note', 'closeReason', 'inThisFile'):
                continue
            got = x.get(k)
            if k == 'alerts':
                got = [f"{al['from']} {al['level']} {al['desc']}" for al in x['alerts']]
            if k == 'requests' and isinstance(v, int):
                got = len(x['requests'])
            cmp(f'stream {x["stream"]} {k}', v, got)

    for x in conns:
        cmp_conn(x, gt.get('every', {}))
        if x['requests']:
            cmp_conn(x, gt.get('everyWithRequests', {}))
    if 'connections' in gt:
        cmp('connections (count)', len(gt['connections']), len(conns))
        for want, x in zip(gt['connections'], conns):
            cmp_conn(x, want)
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--keys')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--check')
    ap.add_argument('--entry', help='ground-truth entry to check against (default: the file name)')
    ap.add_argument('file')
    a = ap.parse_args()
    conns = summarize(a.file, a.keys)
    name = os.path.basename(a.file)
    if a.json:
        print(json.dumps(conns, indent=1))
    else:
        print(f'== {name}' + (f' (keys {os.path.basename(a.keys)})' if a.keys else ' (no keys)'))
        for x in conns:
            print(f"stream {x['stream']} {x.get('client')} -> {x.get('server')}  t={x['start']:.4f}..{x['end']:.4f}  "
                  f"first close: {x['firstClose']} {x['closeKind']}; closed by {x.get('closedBy')} ({x.get('closedWith')})")
            if 'tls' in x:
                print(f"    TLS {x['tls']} {x['cipher']} alpn={x.get('alpn')} sni={x.get('sni')} resumed={x['resumed']} "
                      f"EtM(CH/SH)={x.get('clientEtm')}/{x.get('serverEtm')} tickets={x['newSessionTickets']} "
                      f"undecrypted records={x['undecryptedRecords']}")
            elif x.get('clientHellos'):
                print(f"    ClientHello only: sni={x.get('sni')} alpn offered={x.get('offeredAlpn')}")
            if x['alerts']:
                print('    alerts: ' + ', '.join(f"{al['from']} {al['level']} {al['desc']}" for al in x['alerts']))
            if x.get('goaway'):
                print('    h2 GOAWAY: ' + ', '.join(x['goaway']))
            if x.get('authorities'):
                print('    h2 :authority ' + ', '.join(x['authorities']))
            print(f"    {len(x['requests'])} requests, {x['responses']} responses: " + ', '.join(x['requests']))
    if a.check:
        with open(a.check) as fh:
            gt = json.load(fh)
        entry = a.entry or name
        if entry not in gt:
            print(f'!! {entry}: no entry in {a.check}')
            return 1
        name = entry
        diffs = check(conns, gt[entry], entry)
        for d in diffs:
            print(f'!! {name}: {d}')
        if diffs:
            return 1
        print(f'ok {name}: matches {os.path.basename(a.check)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
