#!/bin/sh
# busybox httpd on each port of $PORTS (default 8080), those of $LATE_PORTS only after
# $LATE_AFTER seconds, and a WebSocket echo server on $WS_PORT; CGI scripts see the port they
# were reached on as $LISTEN_PORT. Exits 143 on SIGTERM, like a server that stops when asked.
trap 'exit 143' TERM
# /cgi-bin/ready answers 200 once this marker exists; sleep counts whole seconds from here
# (`date +%s` differences would turn it ready up to a second early).
(sleep "${READY_AFTER:-0}"; touch /tmp/ready) &
for port in ${PORTS:-8080}; do LISTEN_PORT="$port" httpd -f -p "$port" -h /www & done
if [ -n "$LATE_PORTS" ]; then
  (sleep "${LATE_AFTER:-2}"; for port in $LATE_PORTS; do LISTEN_PORT="$port" httpd -f -p "$port" -h /www & done; wait) &
fi
if [ -n "$WS_PORT" ]; then wsecho "$WS_PORT" & fi
while true; do sleep 1 & wait $!; done
