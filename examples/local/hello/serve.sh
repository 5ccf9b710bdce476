#!/bin/sh
# Port 8080 serves /srv/www (copied to /tmp/www, where /ready appears once warm), port 8081
# serves /srv/admin. Exits 143 on SIGTERM, as a server that stops when asked.
trap 'exit 143' TERM
mkdir -p /tmp/www && cp -r /srv/www/. /tmp/www/
httpd -f -p 8080 -h /tmp/www &
httpd -f -p 8081 -h /srv/admin &
(sleep "${READY_AFTER:-5}" && echo ready > /tmp/www/ready) &
while true; do sleep 1 & wait $!; done
