#!/usr/bin/env bash
# A test suite in another language, at its smallest: a shell, curl and `fakeserver serve --json`.
#
# It starts the fake, sends a mail with curl, waits for it through the HTTP API, then makes a
# sandbox whose script answers the second RCPT with 451, sends to two recipients there, and
# checks what came back: the message went to the first recipient only, the session shows the
# 451, the rule counted one use, and the sandbox's final check is clean. Exits 0 when all held.
# JSON is read with sed, so nothing but curl is needed; a real suite would use its JSON parser.
set -euo pipefail

work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

check() {  # check TEXT EXPECTED WHAT: TEXT must contain EXPECTED
    case "$1" in
        *"$2"*) echo "ok: $3" ;;
        *) echo "FAILED: $3: expected $2 in: $1" >&2; exit 1 ;;
    esac
}
port_of() {  # port_of NAME JSON: the port of the {"host", "port"} object called NAME
    sed -n "s/.*\"$1\": {\"host\": \"[^\"]*\", \"port\": \([0-9]*\).*/\1/p" <<<"$2"
}
send() {  # send PORT SUBJECT RECIPIENT...: one mail over implicit TLS, the CA checked
    local port=$1 subject=$2
    shift 2
    printf 'From: tester@gmail.com\r\nSubject: %s\r\n\r\nSent by curl.\r\n' "$subject" > "$work/mail"
    local recipients=()
    for recipient in "$@"; do recipients+=(--mail-rcpt "$recipient"); done
    curl -sS --url "smtps://127.0.0.1:$port" --cacert "$cafile" \
        --user tester@gmail.com:app-password --mail-from tester@gmail.com \
        "${recipients[@]}" --mail-rcpt-allowfails --upload-file "$work/mail"
}

mkfifo "$work/events"
fakeserver serve --json --smtps-port 0 --submission-port 0 --http 127.0.0.1:0 \
    --certs-dir "$work/certs" > "$work/events" &
server=$!
exec 3< "$work/events"
read -r -t 15 ready <&3  # the ready line comes first
api="$(sed -n 's/.*"url": "\([^"]*\)".*/\1/p' <<<"$ready")api/v1"
cafile=$(sed -n 's/.*"cafile": "\([^"]*\)".*/\1/p' <<<"$ready")
echo "fake ready, API at $api"

# 1. Send, then wait on the server side: it answers the moment the message is there.
send "$(port_of smtps "$ready")" "hello from curl" friend@example.org
waited=$(curl -sS --fail-with-body "$api/messages/wait?count=1&subject=hello&timeout_s=10")
check "$waited" '"subject": "hello from curl"' "the wait answered with the message"
check "$waited" '"auth_mechanism": "PLAIN"' "it says how the client logged in"
late=$(curl -sS -o /dev/null -w '%{http_code}' "$api/messages/wait?count=2&timeout_s=0")
check "$late" 408 "a wait for what never came answers 408"

# 2. A sandbox of our own: its own ports and counters, a 451 on the second RCPT.
sandbox=$(curl -sS --fail-with-body -X POST "$api/sandboxes" -H 'Content-Type: application/json' \
    -d '{"rules": [{"on": "rcpt", "nth": 2, "reply": "451 4.3.0 Try again later"}]}')
id=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' <<<"$sandbox")
box="$api/sandboxes/$id"
send "$(port_of smtps "$sandbox")" "two recipients" first@example.org second@example.org

message=$(curl -sS --fail-with-body "$box/messages/wait?count=1&timeout_s=10")
check "$message" '"recipients": ["first@example.org"]' "the second recipient was refused"
session=$(curl -sS --fail-with-body "$box/sessions/wait?count=1&timeout_s=10")
check "$session" '"commands": ["EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]' \
    "the session shows what curl sent"
check "$session" ', 451, ' "and the 451 it got"
script=$(curl -sS --fail-with-body "$box/script")
check "$script" '"used": 1' "the rule fired once"
others=$(curl -sS --fail-with-body "$api/messages")
check "$others" '"next_after": 1}' "the default fake saw none of it"
final=$(curl -sS --fail-with-body -X DELETE "$box")
check "$final" '"ok": true' "the sandbox's final check is clean"

echo "all checks passed"
