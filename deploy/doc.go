// Package deploy holds no code: it is the home of hotline's deployment files (Asterisk,
// compose, systemd, Kubernetes, Kamailio, Prometheus, Grafana) and of the test that keeps them
// valid and consistent with each other and with hotline's configuration and metrics.
package deploy
