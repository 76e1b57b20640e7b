"""Several MX hosts, one brain (issue 16): two or three real backstop instances on their own
loopback addresses (mx2 127.0.0.2, mx3 127.0.0.3, mx4 127.0.0.4), each with its own queue and
config, share one real redis-server ([state] backend = "redis", redis_server.RedisServer);
a real dnsmasq lists the primary (mx1, 127.0.0.5: smtp-sink or a private Postfix) and all of
them as the MX hosts of example.test. Each test shows one thing that is shared: a greylist
passed on one host, an offender listed by one, a verification answer cached by one, the
contacts that tell who skipped the primary, and offense counts updated by two hosts at once.

The control experiment: BACKSTOP_TEST_STATE=sqlite gives every host its own SQLite store
instead, and then every test here fails (that is what makes them proof of sharing)."""
import concurrent.futures
import json
import os
import time

import pytest

from conftest import Smtp, free_port, queue_id_of, toml_value, wait_until
from peers import Dns, Sink
from postfix_primary import PostfixPrimary
from redis_server import RedisServer

DOMAIN = "example.test"
PREFIX = "farm7:"  # not the default: the keys must carry the configured one
PRIMARY = ("127.0.0.5", "mx1.example.test")
HOSTS = {"a": ("127.0.0.2", "mx2.example.test", 20),
         "b": ("127.0.0.3", "mx3.example.test", 30),
         "c": ("127.0.0.4", "mx4.example.test", 40)}
SEPARATE_STORES = os.environ.get("BACKSTOP_TEST_STATE") == "sqlite"
REFUSAL = "550 5.7.1 you tried me, a backup MX, too often while the primary MX is online"
UNKNOWN_REPLY = "User unknown in virtual mailbox table"  # the Postfix primary's own words
GREYLIST_DELAY = 2  # seconds
ALICE = f"alice@{DOMAIN}"  # a user the Postfix primary has (it verifies by default)


class Farm:
    """One Redis, one DNS server and the backstop hosts of one test."""

    def __init__(self, tmp_path, make_server):
        self.tmp_path, self.make_server = tmp_path, make_server
        self.redis = RedisServer(tmp_path)
        records = [f"--mx-host={DOMAIN},{PRIMARY[1]},10",
                   f"--host-record={PRIMARY[1]},{PRIMARY[0]}"]
        for ip, name, preference in HOSTS.values():
            records += [f"--mx-host={DOMAIN},{name},{preference}", f"--host-record={name},{ip}"]
        try:
            self.dns = Dns(tmp_path, records)
        except BaseException:
            self.redis.stop()
            raise
        self.primary_port = free_port(PRIMARY[0])
        self.servers = []

    def host(self, key, listeners=(), domain=None, **sections):
        """A started backstop host: its own address, name, queue and config."""
        ip, name, _ = HOSTS[key]
        server = self.make_server()
        server.port = free_port(ip)
        server.ip, server.listeners = ip, list(listeners)
        state = {"backend": "sqlite", "path": str(server.dir / "state.db")}
        if not SEPARATE_STORES:
            # 500 ms: a loaded 2-core test machine, not the 10 ms of a production LAN.
            state = {"backend": "redis", "url": self.redis.url, "key_prefix": PREFIX,
                     "timeout": 500}
        server.sections["state"] = state
        server.configure(**{"": {"hostname": name},
                            "smtp": {"listen": [f"{ip}:{server.port}"]},
                            "dns": {"servers": [f"127.0.0.1:{self.dns.port}"]},
                            "domains": [{"name": DOMAIN, **(domain or {}),
                                         "primary": [f"{PRIMARY[0]}:{self.primary_port}"]}]},
                         **sections)
        with_listeners(server)
        server.start()
        for listener in server.listeners:
            server.wait_for_log(f"listening on {listener['address']}")
        self.servers.append(server)
        return server

    def assert_store_answered(self):
        """No call failed: a failed one is "cannot tell" and could pass for a shared answer."""
        for server in self.servers:
            if server.running():
                errors = server.stats()["counters"]["state_store_errors"]
                assert errors == 0, f"{server.ip}: {errors} state store calls failed"

    def keys(self):
        return self.redis.keys()

    def stop(self):
        self.dns.stop()
        self.redis.stop()


def with_listeners(server):
    """Appends the server's [[listener]] tables to every config it writes."""
    original = server.write_config

    def write():
        original()
        with open(server.config_path, "a") as f:
            for listener in server.listeners:
                f.write("[[listener]]\n")
                f.writelines(f"{k} = {toml_value(v)}\n" for k, v in listener.items())

    server.write_config = write
    write()


@pytest.fixture
def farm(tmp_path, make_server):
    f = Farm(tmp_path, make_server)
    try:
        yield f
        f.assert_store_answered()
    finally:
        f.stop()


def session(server, source):
    c = Smtp(server.port, host=server.ip, source=source, timeout=15)
    c.greet()
    return c


def rcpt(server, source, recipient=f"u@{DOMAIN}", sender="s@sender.example"):
    """(code, lines) of RCPT in a fresh session from the client address `source`."""
    c = session(server, source)
    try:
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        return c.cmd(f"RCPT TO:<{recipient}>")
    finally:
        c.close()


def prefixed(farm):
    """Every key in Redis; all of them must carry the configured prefix."""
    keys = farm.keys()
    assert keys and all(k.startswith(PREFIX) for k in keys), keys
    return keys


def assert_expires(farm, key, lifetime):
    """The key expires by itself, after the data's lifetime (less the seconds since)."""
    ttl = farm.redis.cmd("TTL", key)
    assert lifetime - 60 < ttl <= lifetime, f"TTL of {key}: {ttl}, wanted about {lifetime}"


def offenses_of(server, address):
    answer = json.loads(server.cli("offenders", address, "--json").stdout)
    return [o for entry in answer["offenders"] for o in entry["offenses"]]


def defer_trap(key):
    ip = HOSTS[key][0]
    return {"address": f"{ip}:{free_port(ip)}", "kind": "defer"}


def trap_hit(trap, source):
    """One client hitting a defer trap and naming our domain: one counting offense."""
    host, _, port = trap["address"].rpartition(":")
    c = Smtp(int(port), host=host, source=source, timeout=15)
    try:
        c.greet("bot.example")
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code(f"RCPT TO:<user@{DOMAIN}>") == 451
        assert c.code("QUIT") == 221
    finally:
        c.close()


# ---- greylist ---------------------------------------------------------------------------------

def test_a_triplet_deferred_on_one_host_is_accepted_on_another_after_the_delay(farm):
    client = "127.0.0.31"
    sink = Sink(farm.tmp_path, PRIMARY[0], farm.primary_port).start()
    try:
        greylist = {"checks.greylist": {"enabled": True, "delay": f"{GREYLIST_DELAY}s",
                                        "lifetime": "2d", "auto_allow_after": 0}}
        a = farm.host("a", **greylist)
        b = farm.host("b", **greylist)
        code, lines = rcpt(a, client)
        assert code == 451 and lines[-1].startswith("451 4.7.1 Greylisted"), lines
        first_try = time.monotonic()

        # B never saw the client, yet knows its first attempt: "too early", not "new".
        code, lines = rcpt(b, client)
        assert code == 451, lines
        b.wait_for_log(f"greylist <u@{DOMAIN}>: triplet retried too early")
        tries = []
        while time.monotonic() - first_try < 15:
            code, lines = rcpt(b, client)
            tries.append((time.monotonic() - first_try, code))
            if code == 250:
                break
            time.sleep(0.2)  # the pace of a retrying client, not a synchronisation
        assert tries[-1][1] == 250, f"B never accepted the triplet A deferred: {tries}"
        assert tries[-1][0] >= GREYLIST_DELAY - 1, f"accepted before the delay: {tries}"
        assert "triplet new" not in b.log_text(), "B took A's triplet for a new one"

        # The mail B accepts is in B's own queue and reaches the primary from there.
        c = session(b, client)
        c.start_mail(sender="s@sender.example", recipients=(f"u@{DOMAIN}",), ehlo=False)
        c.send(b"Subject: greylisted on mx2, accepted on mx3\r\n\r\nhello\r\n.\r\n")
        queue_id_of(c.read_reply())
        c.close()
        got = sink.wait_messages(1)
        assert len(got) == 1 and b"accepted on mx3" in got[0][1], got
        assert a.queued() == [], "A queued nothing: it only deferred"

        [triplet] = [k for k in prefixed(farm) if k.startswith(PREFIX + "g:t:")]
        assert "127.0.0.0/24|s@sender.example|u@example.test" in triplet, triplet
        assert_expires(farm, triplet, 2 * 86400)  # a passed triplet lives `lifetime`
    finally:
        sink.remove()


# ---- offenders and the blacklist --------------------------------------------------------------

def test_a_client_blacklisted_by_one_host_is_refused_by_the_others(farm):
    trapped, by_hand = "127.0.0.41", "127.0.0.42"
    trap = defer_trap("a")
    offenders = {"offenders": {"threshold": 2, "window": "1d", "listing": "1h"},
                 "checks.blacklist": {"enabled": True}}
    a = farm.host("a", listeners=[trap], **offenders)
    b = farm.host("b", **offenders)
    c = farm.host("c", **offenders)
    for server in (a, b, c):
        assert rcpt(server, trapped)[0] == 250, "not listed yet"

    for _ in range(2):
        trap_hit(trap, trapped)  # A's trap: the offenses are A's
    a.wait_for_log(f"blacklisted {trapped} for 1 h: 2 offenses within 1 d")
    for server in (b, c):
        code, lines = rcpt(server, trapped)
        assert code == 550 and lines[0] == REFUSAL, (server.ip, lines)
    # The evidence is shared too: B shows the hits on A's trap.
    assert [o["listener"] for o in offenses_of(b, trapped)] == [f"defer {trap['address']}"] * 2

    a.cli("blacklist", "add", by_hand, "--for", "2h", "--reason", "listed on mx2 by hand")
    code, lines = rcpt(b, by_hand)
    assert code == 550 and lines[0] == REFUSAL, lines
    # ... and a removal on B frees the client on A.
    assert f"removed {trapped}" in b.cli("blacklist", "remove", trapped).stdout
    assert rcpt(a, trapped)[0] == 250, "removed on B, still refused on A"

    keys = prefixed(farm)
    assert PREFIX + f"o:l:{trapped}" not in keys, keys
    assert_expires(farm, PREFIX + f"o:l:{by_hand}", 2 * 3600)  # the listing's --for
    assert_expires(farm, PREFIX + f"o:e:{trapped}", 30 * 86400)  # keep_offenses


# ---- the verification cache -------------------------------------------------------------------

def test_a_recipient_verified_by_one_host_is_answered_from_the_cache_on_another(farm):
    primary = PostfixPrimary(farm.tmp_path, host=PRIMARY[0], port=farm.primary_port,
                             users=("alice", "bob"))
    try:
        primary.start()
        verify = {"verify": {"callout": True, "timeout": "5s", "unknown_recipient_delay": "0s",
                             "idle_timeout": "30s", "positive_ttl": "1d", "positive_refresh": "12h",
                             "negative_ttl": "1h"}}
        a = farm.host("a", domain={"verify": True}, **verify)
        b = farm.host("b", domain={"verify": True}, **verify)
        base_connections = primary.connections()
        base_rejections = len(primary.rcpt_rejections())

        assert rcpt(a, "127.0.0.51", f"alice@{DOMAIN}")[0] == 250
        code, lines = rcpt(a, "127.0.0.51", f"ghost@{DOMAIN}")
        assert code == 550 and UNKNOWN_REPLY in lines[0], lines
        # A writes its answers to the store after the reply: wait until A's store has both.
        def cached_on_a(user):
            r = a.cli("verify", f"{user}@{DOMAIN}", "--cached-only", "--json")
            return json.loads(r.stdout)["cached"] is not None

        assert wait_until(lambda: cached_on_a("alice") and cached_on_a("ghost"), 5)
        callouts_by_a = primary.connections()
        assert callouts_by_a > base_connections, "A asked the primary"

        assert rcpt(b, "127.0.0.52", f"alice@{DOMAIN}")[0] == 250
        code, lines = rcpt(b, "127.0.0.52", f"ghost@{DOMAIN}")
        assert code == 550 and UNKNOWN_REPLY in lines[0], f"the primary's reason, cached: {lines}"

        assert primary.connections() == callouts_by_a, "B called the primary out itself"
        ghost = [r for r in primary.rcpt_rejections()[base_rejections:]
                 if r["address"] == f"ghost@{DOMAIN}"]
        assert len(ghost) == 1, f"the primary must see exactly one callout for ghost: {ghost}"
        counters = b.stats()["counters"]
        assert counters["callout_cache_hits"] == 2, counters
        assert counters["callouts_valid"] + counters["callouts_invalid"] == 0, counters

        prefixed(farm)
        assert_expires(farm, PREFIX + f"v:alice@{DOMAIN}", 86400)  # positive_ttl
        assert_expires(farm, PREFIX + f"v:ghost@{DOMAIN}", 3600)  # negative_ttl
    finally:
        primary.remove()


# ---- skipped the primary ----------------------------------------------------------------------

def test_contacts_recorded_on_two_hosts_are_seen_together_and_tell_who_skipped_the_primary(
        farm):
    honest, skipper = "127.0.0.61", "127.0.0.62"
    primary = PostfixPrimary(farm.tmp_path, host=PRIMARY[0], port=farm.primary_port)
    try:
        primary.start()
        c = Smtp(primary.port, host=primary.host, source=honest)  # the honest one tries mx1
        c.greet("honest.example")
        c.cmd("QUIT")
        c.close()
        primary.sync()
        checks = {"checks": {"reject_score": 10.0},
                  "checks.mx_contacts": {"enabled": True},
                  # the more-preferred hosts come from the domain's MX records (dnsmasq)
                  "checks.skipped_primary": {"enabled": True, "window": "1h", "score": 10.0}}
        a = farm.host("a", **checks)
        b = farm.host("b", **checks)
        # The primary's real maillog is fed in on A only.
        r = a.run("ingest", "--format", "postfix", "--host", PRIMARY[1], primary.maillog)
        assert r.returncode == 0 and "1 contacts recorded" in r.stdout, (r.stdout, r.stderr)

        code, lines = rcpt(b, honest, ALICE)
        assert code == 250, f"B must see the contact to the primary A's ingest recorded: {lines}"
        code, lines = rcpt(b, skipper, ALICE)
        assert code == 550 and "reject_score" in lines[-1], lines
        [line] = b.wait_for_log(f"skipped_primary: client {skipper} for {DOMAIN}: no contact")
        # B's more-preferred hosts, from the MX records in DNS order: the primary and A.
        assert PRIMARY[1] in line and HOSTS["a"][1] in line and "within 1 h; score +10" in line

        code, lines = rcpt(a, skipper, ALICE)
        assert code == 550, lines
        a.wait_for_log(f"skipped_primary: client {skipper} for {DOMAIN}: no contact to "
                       f"{PRIMARY[1]} within 1 h")

        # Either host shows the skipper's contacts with both hosts, and both hosts' offenses.
        def hosts_seen(server, address):
            answer = json.loads(server.cli("contacts", address, "--json").stdout)
            return {c["host"] for c in answer["contacts"]}

        both = {HOSTS["a"][1], HOSTS["b"][1]}
        assert wait_until(lambda: hosts_seen(a, skipper) == both), hosts_seen(a, skipper)
        assert hosts_seen(b, skipper) == both
        assert hosts_seen(a, honest) == {PRIMARY[1], HOSTS["b"][1]}
        assert wait_until(lambda: len(offenses_of(a, skipper)) == 2), offenses_of(a, skipper)
        assert {o["listener"] for o in offenses_of(b, skipper)} == {
            f"smtp {a.ip}:{a.port}", f"smtp {b.ip}:{b.port}"}

        keys = prefixed(farm)
        assert PREFIX + f"c:a:{skipper}" in keys, keys
        assert_expires(farm, PREFIX + f"c:a:{skipper}", 7 * 24 * 3600)  # contacts_keep
    finally:
        primary.remove()


# ---- atomic counters --------------------------------------------------------------------------

def test_offenses_from_two_hosts_at_once_are_each_counted_exactly_once(farm):
    """100 trap hits of one client, spread over the traps of A and B by 10 clients at once:
    every one is an offense, the 100th (and only it) lists the client, exactly once."""
    client, hits = "127.0.0.71", 100
    traps = {"a": defer_trap("a"), "b": defer_trap("b")}
    offenders = {"offenders": {"threshold": hits, "window": "1d", "listing": "1h"},
                 "checks.blacklist": {"enabled": True}}
    a = farm.host("a", listeners=[traps["a"]], **offenders)
    b = farm.host("b", listeners=[traps["b"]], **offenders)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        done = [pool.submit(trap_hit, traps["ab"[i % 2]], client) for i in range(hits)]
        for future in done:
            future.result()

    def listed_lines():
        return [line for s in (a, b) for line in s.log_text().splitlines()
                if f"blacklisted {client} " in line]

    assert wait_until(lambda: listed_lines(), 10), \
        f"no host listed {client} after {hits} hits: {len(offenses_of(a, client))} offenses seen"
    assert len(offenses_of(a, client)) == hits
    assert len(offenses_of(b, client)) == hits
    by_trap = [o["listener"] for o in offenses_of(b, client)]
    assert sorted(set(by_trap)) == sorted(f"defer {t['address']}" for t in traps.values())
    assert by_trap.count(f"defer {traps['a']['address']}") == hits // 2, by_trap
    assert wait_until(lambda: rcpt(b, client)[0] == 550), "listed, yet B accepts"
    lines = listed_lines()
    assert len(lines) == 1 and f"{hits} offenses within 1 d" in lines[0], lines
    [listing] = json.loads(a.cli("blacklist", "list", "--json").stdout)["listings"]
    assert listing["address"] == client and listing["reason"] == f"{hits} offenses within 1 d"
    assert farm.redis.cmd("ZCARD", PREFIX + f"o:c:{client}") == hits
    prefixed(farm)


def test_greylist_passes_of_one_network_on_two_hosts_at_once_are_each_counted_once(farm):
    """auto_allow_after = 20: 20 triplets of one /24, first tried on one host and passed on
    the other, 10 clients at once. After 19 passes the network is not allowlisted, after the
    20th it is, on both hosts: no pass was lost, none counted twice."""
    client, passes = "127.0.0.81", 20
    greylist = {"checks.greylist": {"enabled": True, "delay": f"{GREYLIST_DELAY}s",
                                    "auto_allow_after": passes}}
    hosts = [farm.host("a", **greylist), farm.host("b", **greylist)]
    senders = [f"s{i}@sender.example" for i in range(passes)]

    def first_try(i):
        code, lines = rcpt(hosts[i % 2], client, sender=senders[i])
        assert code == 451, lines

    def pass_on_the_other_host(i):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            code, lines = rcpt(hosts[(i + 1) % 2], client, sender=senders[i])
            if code == 250:
                return
            assert code == 451, lines
            time.sleep(0.2)  # the pace of a retrying client, not a synchronisation
        raise AssertionError(f"{senders[i]} never passed")

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        list(pool.map(first_try, range(passes)))
        list(pool.map(pass_on_the_other_host, range(passes - 1)))
    code, lines = rcpt(hosts[0], "127.0.0.82", sender="new@sender.example")
    assert code == 451, f"{passes - 1} passes must not allowlist the network: {lines}"
    pass_on_the_other_host(passes - 1)
    for server, sender in ((hosts[0], "later@sender.example"), (hosts[1], "other@sender.example")):
        code, lines = rcpt(server, "127.0.0.83", sender=sender)
        assert code == 250, f"{passes} passes allowlist the network on every host: {lines}"
    network = PREFIX + "g:n:127.0.0.0/24"
    assert farm.redis.cmd("HGET", network, "passes") == str(passes)
    assert_expires(farm, network, 35 * 86400)  # auto_allow_lifetime
    prefixed(farm)
