#!/usr/bin/python3
"""A packet probe inside one lab VM (tests of switch-port locking): one process per VM, so that
scapy is imported once. It reads every frame of one interface from a packet socket and sends
crafted frames on command through the same socket.

Run as /usr/bin/python3 (Debian's python3-scapy).  Usage: probe.py IFACE

stdout, one JSON object a line:
  {"ready": true}                          the socket is bound: frames from now on are seen
  {"pkt": {...}}                           a frame seen ("out": true when the VM sent it)
  {"done": ID} / {"error": ID, "msg": ..}  a command finished
  {"synced": ID}                           every frame that arrived before the sync was printed
stdin, one JSON object a line:
  {"id": ID, "send": [{"pkt": "<scapy expression>", "count": N}], "inter": SECONDS}
  {"id": ID, "sync": true}
The process ends when stdin closes.
"""

import json
import socket
import sys
import threading
import time

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6)
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import mac2str

ETH_P_ALL = 0x0003
SYNC_TYPE = 0x88B5  # IEEE local experimental ethertype: the probe's own sync frames
PACKET_OUTGOING = 4

# the names a send command's expressions may use
NAMES = {n: globals()[n] for n in (
    'ARP', 'BOOTP', 'DHCP', 'Ether', 'ICMP', 'ICMPv6EchoReply', 'ICMPv6EchoRequest', 'ICMPv6ND_NA',
    'ICMPv6ND_NS', 'ICMPv6ND_RA', 'ICMPv6ND_Redirect', 'ICMPv6NDOptDstLLAddr', 'ICMPv6NDOptPrefixInfo',
    'ICMPv6NDOptSrcLLAddr', 'IP', 'IPv6', 'Raw', 'TCP', 'UDP', 'mac2str')}

out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()


def text(b):
    return bytes(b)[:80].decode('latin1')


def describe(frame, outgoing):
    p = Ether(frame)
    d = {'out': outgoing, 'src': p.src, 'dst': p.dst, 'type': p.type}
    if ARP in p:
        a = p[ARP]
        d['arp'] = {'op': a.op, 'hwsrc': a.hwsrc, 'psrc': a.psrc, 'hwdst': a.hwdst, 'pdst': a.pdst}
    if IP in p:
        d['ip'] = {'src': p[IP].src, 'dst': p[IP].dst, 'proto': p[IP].proto}
        if ICMP in p:
            d['icmp'] = p[ICMP].type
    if IPv6 in p:
        d['ip6'] = {'src': p[IPv6].src, 'dst': p[IPv6].dst, 'nh': p[IPv6].nh}
        layer = p[IPv6].payload
        if layer.name.startswith('ICMPv6'):
            d['icmp6'] = getattr(layer, 'type', None)
            if hasattr(layer, 'tgt'):
                d['tgt'] = layer.tgt
            if ICMPv6EchoRequest in p or ICMPv6EchoReply in p:
                d['data'] = text(layer.data)
    if UDP in p:
        d['udp'] = {'sport': p[UDP].sport, 'dport': p[UDP].dport}
    if BOOTP in p:
        b = p[BOOTP]
        kind = None
        if DHCP in p:
            kind = next((o[1] for o in p[DHCP].options if isinstance(o, tuple) and o[0] == 'message-type'), None)
        d['dhcp'] = {'op': b.op, 'xid': b.xid, 'yiaddr': b.yiaddr, 'type': kind}
    elif Raw in p:
        d['data'] = text(p[Raw].load)
    return d


def main():
    iface = sys.argv[1]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((iface, ETH_P_ALL))
    own = sock.getsockname()[4]
    # frames go out through a second socket: the kernel never loops a packet socket's own
    # frames back to it, and the reader must see them (sync frames)
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    tx.bind((iface, 0))

    def reader():
        while True:
            frame, addr = sock.recvfrom(65535)
            outgoing = addr[2] == PACKET_OUTGOING
            if outgoing and len(frame) >= 14 and int.from_bytes(frame[12:14], 'big') == SYNC_TYPE:
                emit({'synced': int(frame[14:].split(b'\0')[0] or b'0')})
                continue
            try:
                emit({'pkt': describe(frame, outgoing)})
            except Exception as e:  # a frame scapy cannot dissect: report, keep going
                emit({'pkt': {'out': outgoing, 'undissected': str(e)}})

    threading.Thread(target=reader, daemon=True).start()
    emit({'ready': True})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            if cmd.get('sync'):
                tx.send(b'\x02\x00\x00\x00\x00\x00' + own + SYNC_TYPE.to_bytes(2, 'big') + str(cmd['id']).encode().ljust(46, b'\0'))
            for item in cmd.get('send', []):
                frame = bytes(eval(item['pkt'], {'__builtins__': {}}, NAMES))  # noqa: S307 (the test's own expressions)
                for _ in range(item.get('count', 1)):
                    tx.send(frame)
                    time.sleep(cmd.get('inter', 0.02))
            if not cmd.get('sync'):
                emit({'done': cmd['id']})
        except Exception as e:
            emit({'error': cmd.get('id'), 'msg': repr(e)})


if __name__ == '__main__':
    main()
