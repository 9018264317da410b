#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Writes the fuzzer's seed corpus: scripted scenarios in fuzz_ack.c's input
# format (handshake, data, receiver ACKs with SACK, timers, failures).
import os, random, struct, sys

def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)

def header(rng):
    return (u8(rng.randrange(256)) + u16(rng.randrange(65536)) + u16(rng.randrange(65536)) +
            u8(2) + u8(rng.randrange(8)) + u8(rng.randrange(16)) + u8(10) + u32(rng.randrange(1 << 32)))

def opts(rng):
    o = 1 | 2 | (rng.randrange(15) << 2) | (0x40 if rng.random() < .7 else 0) | (0x80 if rng.random() < .5 else 0)
    return u8(o) + u16(1400 + rng.randrange(100))

def handshake(k, rng, server=False):
    if not server:
        return (u8(0) + u8(k) + u8(0) + u16(64240) + opts(rng) +
                u8(1) + u8(k) + u8(0) + u8(0) + u16(65535) + opts(rng) + u32(7000))
    return (u8(2) + u8(k) + u8(0) + u16(65535) + opts(rng) +
            u8(3) + u8(k) + u8(0) + u8(0) + u16(64240) + opts(rng))

def data(k, n, mode=0):
    if n > 255 * 11:
        return u8(4) + u8(k) + u8(0x80 | (mode << 1)) + u16(n) + (u16(3000) if mode in (1, 2) else b'') + u16(502)
    return u8(4) + u8(k) + u8(mode << 1) + u8(n // 11) + (u16(3000) if mode in (1, 2) else b'') + u16(502)

def rack(k, back, sacks=(), win=256):
    m = (2 if back else 0) | (len(sacks) << 4)
    out = u8(6) + u8(k) + u8(m) + (u16(back) if back else b'') + u16(win)
    for s, l in sacks:
        out += u16(s + 1000) + u16(l)
    return out + u32(7001)

def rdata(k, n, mode=0, ts=7001):
    # op 12: remote data for rx (mode 0: at the next sequence number)
    if n > 255 * 11:
        return u8(12) + u8(k) + u8(0x80 | (mode << 1)) + u16(n) + (u16(3000) if mode in (1, 2) else b'') + u16(256) + u32(ts)
    return u8(12) + u8(k) + u8(mode << 1) + u8(n // 11) + (u16(3000) if mode in (1, 2) else b'') + u16(256) + u32(ts)

def gack(k, back, sacks=(), win=502):
    # op 13: the guest acks remote data, back bytes below what was sent
    m = (2 if back else 0) | (len(sacks) << 4)
    out = u8(13) + u8(k) + u8(m) + (u16(back) if back else b'') + u16(win)
    for s, l in sacks:
        out += u16(s + 1000) + u16(l)
    return out

def timer(big=False): return u8(7) + u8(0) + u8(2 if big else 0) + u16(300)

def scenario(i, rng):
    b = header(rng)
    flows = rng.randrange(1, 5)
    for k in range(flows):
        b += handshake(k, rng, server=rng.random() < .3)
    for _ in range(rng.randrange(5, 40)):
        k = rng.randrange(flows)
        r = rng.random()
        if r < .4:
            b += data(k, rng.choice([1448, 1460, 536, 11 * rng.randrange(1, 255), 65535]), 0 if rng.random() < .9 else rng.randrange(1, 4))
        elif r < .7:
            b += rack(k, rng.choice([0, 1448, 2896, 5000]), [(rng.randrange(3000), rng.randrange(3000))] * rng.randrange(0, 3))
        elif r < .8:
            b += timer(rng.random() < .5)
        elif r < .85:
            b += u8(8) + u8(0) + u8(rng.randrange(256))
        elif r < .88:
            b += u8(10) + u8(k) + u8(rng.randrange(2))
        elif r < .9:
            b += u8(9) + u8(0) + u8(0x5a)
        else:
            b += u8(5) + u8(k) + u8(rng.randrange(2)) + u16(502)
    return b

def loss(i, rng):
    # big budgets, one flow, a burst, then dupacks (with SACK) and timers
    b = (u8(rng.randrange(2) | (rng.randrange(8) << 5)) + u16(0xffff) + u16(0xffff) + u8(2) +
         u8(rng.randrange(8)) + u8(10) + u8(10) + u32(i))
    b += handshake(0, rng)
    n = rng.randrange(4, 10)
    for _ in range(n):
        b += data(0, 1448)
    back = 1448 * rng.randrange(1, n)
    sack = [(1448, 1448)] if rng.random() < .5 else []
    for _ in range(4):
        b += rack(0, back, sack, win=256)
    b += rack(0, back - 1448, sack, win=256)
    for _ in range(rng.randrange(1, 4)):
        b += timer(True)
    b += rack(0, 0)
    return b

def rx_seed(i):
    # the header's seed picks dir: 1 + seed % 3 (1 tx, 2 rx, 3 both)
    return 3 * i + 1 + (i % 2)

def rx_scenario(i, rng):
    b = header(rng)[:-4] + u32(rx_seed(i))
    flows = rng.randrange(1, 5)
    for k in range(flows):
        b += handshake(k, rng, server=rng.random() < .3)
    for _ in range(rng.randrange(5, 40)):
        k = rng.randrange(flows)
        r = rng.random()
        if r < .35:
            b += rdata(k, rng.choice([1448, 1460, 536, 11 * rng.randrange(1, 255), 65535]), 0 if rng.random() < .85 else rng.randrange(1, 4), ts=7001 + _)
        elif r < .6:
            b += gack(k, rng.choice([0, 1448, 2896, 5000]), [(rng.randrange(3000), rng.randrange(3000))] * rng.randrange(0, 3))
        elif r < .7:
            b += data(k, rng.choice([1448, 536]))
        elif r < .75:
            b += rack(k, rng.choice([0, 1448]))
        elif r < .85:
            b += timer(rng.random() < .5)
        elif r < .88:
            b += u8(8) + u8(0) + u8(rng.randrange(256))
        elif r < .9:
            b += u8(10) + u8(k) + u8(rng.randrange(2))
        elif r < .92:
            b += u8(9) + u8(0) + u8(0x5a)
        else:
            b += u8(11) + u8(0) + u8(rng.randrange(256) & ~1)
    return b

def rx_loss(i, rng):
    # the guest loses remote data: dupacks (with SACK), timers, then all acked
    b = (u8(rng.randrange(2) | (rng.randrange(8) << 5)) + u16(0xffff) + u16(0xffff) + u8(2) +
         u8(rng.randrange(8)) + u8(10) + u8(10) + u32(rx_seed(i)))
    b += handshake(0, rng)
    n = rng.randrange(4, 10)
    for j in range(n):
        b += rdata(0, 1448, ts=7001 + j)
    back = 1448 * rng.randrange(1, n)
    sack = [(1448, 1448)] if rng.random() < .5 else []
    for _ in range(4):
        b += gack(0, back, sack)
    b += gack(0, back - 1448, sack)
    for _ in range(rng.randrange(1, 4)):
        b += timer(True)
    b += gack(0, 0)
    return b

def stream(k, n, rx=False, gap=60, length=1448):
    # op 9 (not 0x5a): n rounds of in-order data and the receiver's ACK for it
    return u8(9) + u8(k) + u8(0xa0 | (8 if rx else 0) | (n - 1)) + (u8(gap) + u16(length)) * n

def reentry(i, rng):
    # a flow falls back (a pure ACK beyond any window, or no memory), then
    # streams in order: it re-enters; dir from the seed (tx, rx or both)
    b = (u8(rng.randrange(2) | (rng.randrange(8) << 5)) + u16(0xffff) + u16(0xffff) + u8(2) +
         u8(rng.randrange(8)) + u8(10) + u8(10) + u32(i))
    b += handshake(0, rng)
    rx = i % 3 == 1 or (i % 3 == 2 and i % 2 == 0)
    for _ in range(3):
        b += stream(0, 4, rx, gap=1)
    for _ in range(rng.randrange(1, 4)):
        if rng.random() < .5:
            b += u8(5) + u8(0) + u8(2) + u32(0x40000000) + u16(502)
        else:
            b += u8(8) + u8(0) + u8(2) + stream(0, 1, rx, gap=1)
        b += stream(0, 8, rx) + stream(0, 8, rx, gap=250)
        if rng.random() < .3:
            b += u8(11) + u8(0) + u8(rng.choice([0x10, 0x08, 0x18]))
    return b

out = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
os.makedirs(out, exist_ok=True)
for i in range(40):
    with open(os.path.join(out, 'seed-%02d' % i), 'wb') as f:
        f.write(scenario(i, random.Random(i)))
for i in range(10):
    with open(os.path.join(out, 'loss-%02d' % i), 'wb') as f:
        f.write(loss(i, random.Random(100 + i)))
for i in range(20):
    with open(os.path.join(out, 'rx-seed-%02d' % i), 'wb') as f:
        f.write(rx_scenario(i, random.Random(200 + i)))
for i in range(10):
    with open(os.path.join(out, 'rx-loss-%02d' % i), 'wb') as f:
        f.write(rx_loss(i, random.Random(300 + i)))
for i in range(10):
    with open(os.path.join(out, 'reentry-%02d' % i), 'wb') as f:
        f.write(reentry(i, random.Random(400 + i)))
