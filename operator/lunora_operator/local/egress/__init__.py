"""Local mode's egress firewall: Cloudflare's outbound rules (`enableInternet`, `allowedHosts`,
`deniedHosts`, `interceptHttps`, runtime changes) enforced by a proxy per app, with each
instance Pod's egress limited to that proxy by a NetworkPolicy."""
