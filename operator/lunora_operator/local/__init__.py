"""Local mode's data plane: instance Pods behind a router that behaves like Cloudflare's Container
Durable Object. Nothing here imports the operator's control loop; the operator runs the router
(`lunora-operator router`) and reads the state it leaves on Pods."""
