package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"ferry/cloud"
	"ferry/embedded"
	"ferry/sandbox"

	"github.com/spf13/cobra"
)

func newSandboxCmd() *cobra.Command {
	var site, listen string
	var failRate, rateLimit, endpointLimit, hiddenEmails, withoutAccess float64
	var retryAfter, inviteTime time.Duration
	var readOnly, hideRate, gateway, noAdminKey, treeNodes, roles bool
	var spikes float64
	var latency time.Duration
	var maxPage int
	cmd := &cobra.Command{
		Use:   "sandbox --site SITE.db --listen 127.0.0.1:PORT [--fail-rate F] [--rate-limit R]",
		Short: "Serve an embedded site through the Confluence Cloud REST API, for tests and rehearsals",
		Long: `sandbox serves an embedded site at http://ADDRESS/wiki/api/v2 with the paths,
shapes, cursor pagination and error bodies of Confluence Cloud's REST API
(checked against Atlassian's published spec), so that 'ferry export --from
http://ADDRESS' can be tried without a Confluence.

Requests must carry the token FERRY_SANDBOX_TOKEN names (as a bearer
token, or as the API token of basic authentication with any email); the
sandbox does not start without it. It serves plain HTTP: listen on a
loopback address (127.0.0.1), which is what ferry's clients accept over
http://; another address is served with a warning. --fail-rate answers that fraction of
requests with 500 or 503 or a reset connection; --latency slows every
answer; --max-page caps page sizes; --rate-limit answers 429 with Retry-After beyond
that many requests a second. It serves until interrupted. A SITE that does
not exist is created empty, to stand in for a destination.`,
		Example: `  FERRY_SANDBOX_TOKEN=rehearsal ferry sandbox --site source.db --listen 127.0.0.1:8080
  FERRY_TOKEN=rehearsal ferry export --from http://127.0.0.1:8080 --out source.ferry
  FERRY_SANDBOX_TOKEN=rehearsal ferry sandbox --site source.db --listen 127.0.0.1:8080 --fail-rate 0.2 --rate-limit 50`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if site == "" || listen == "" {
				return usageError("sandbox needs --site SITE.db and --listen ADDRESS:PORT")
			}
			if failRate < 0 || failRate >= 1 {
				return usageError("--fail-rate %v: want a fraction from 0 to below 1", failRate)
			}
			if withoutAccess < 0 || withoutAccess > 1 {
				return usageError("--without-access %v: want a share from 0 to 1", withoutAccess)
			}
			if rateLimit < 0 {
				return usageError("--rate-limit %v: want requests per second, or 0 for none", rateLimit)
			}
			token := os.Getenv("FERRY_SANDBOX_TOKEN")
			if token == "" {
				return usageError("set FERRY_SANDBOX_TOKEN to the token clients must send: without it the sandbox would let anyone in as an admin")
			}
			s, err := embedded.OpenOrCreate(strings.TrimPrefix(site, "local:")) // an empty one stands in for a destination
			if err != nil {
				return fmt.Errorf("--site: %w", err)
			}
			defer s.Close()
			h := sandbox.New(s)
			h.Token, h.FailRate, h.RateLimit, h.ReadOnly = token, failRate, rateLimit, readOnly
			h.Latency, h.MaxPage, h.Unannounced, h.Spikes = latency, maxPage, hideRate, spikes
			h.EndpointLimit, h.RetryAfter, h.HiddenEmails, h.NoAdminKey = endpointLimit, retryAfter, hiddenEmails, noAdminKey
			h.WithoutAccess, h.InviteTime, h.Roles = withoutAccess, inviteTime, roles
			if gateway {
				h.Prefix = h.GatewayPrefix()
			}
			if treeNodes {
				if _, err := h.LayNodes(cmd.Context()); err != nil {
					return fmt.Errorf("--tree-nodes: %w", err)
				}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(shut)
			}()
			stderrf("ferry sandbox: this is not Confluence, only a stand-in for rehearsals and tests\n")
			if host, _, _ := net.SplitHostPort(ln.Addr().String()); !cloud.IsLoopback(host) {
				stderrf("warning: listening on %s, not a loopback address: anyone who can reach this machine may try the token, sent in clear over plain HTTP\n", ln.Addr())
			}
			stderrf("serving %s at http://%s%s/wiki/api/v2 (Ctrl-C stops)\n", s.Path(), ln.Addr(), h.Prefix)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the embedded site to serve")
	cmd.Flags().StringVar(&listen, "listen", "", "address and port, e.g. 127.0.0.1:8080")
	cmd.Flags().Float64Var(&failRate, "fail-rate", 0, "fraction of requests answered with 500 or 503")
	cmd.Flags().Float64Var(&rateLimit, "rate-limit", 0, "requests per second served before answering 429 (0: no limit)")
	cmd.Flags().Float64Var(&endpointLimit, "endpoint-rate-limit", 0, "requests per second each endpoint (method and path) serves before answering 429 (0: no limit of its own)")
	cmd.Flags().DurationVar(&retryAfter, "retry-after", 0, "the wait a 429 asks for, e.g. 4m10s (Cloud's can be minutes); a retry sent earlier earns it again (0: until the second's window ends)")
	cmd.Flags().DurationVar(&latency, "latency", 0, "added to every answer, e.g. 50ms")
	cmd.Flags().Float64Var(&hiddenEmails, "hidden-emails", 0, "the share of users whose profile hides their email: answered empty, as Cloud does (0 to 1)")
	cmd.Flags().Float64Var(&withoutAccess, "without-access", 0, "the share of accounts that exist but may not use the site until invited (0 to 1): access is checked by email and given by invite-by-email, as Cloud does")
	cmd.Flags().DurationVar(&inviteTime, "invite-time", 5*time.Second, "how long an invitation takes to give access")
	cmd.Flags().BoolVar(&roles, "roles", false, "serve a site with role-based access control in ROLES mode: space access through roles only, v1 grants refused")
	cmd.Flags().BoolVar(&hideRate, "hide-rate-headers", false, "send no X-RateLimit headers, so 429s come without warning")
	cmd.Flags().Float64Var(&spikes, "spikes", 0, "fraction of answers delayed by a latency spike of a quarter second")
	cmd.Flags().IntVar(&maxPage, "max-page", 0, "largest page a list answers, below the API's 250 (0: no cap)")
	cmd.Flags().BoolVar(&gateway, "gateway", false, "serve the API only under /ex/confluence/CLOUDID, as Atlassian's gateway does for scoped and OAuth tokens (the site's cloudId is at /_edge/tenant_info)")
	cmd.Flags().BoolVar(&treeNodes, "tree-nodes", false, "show a folder, a whiteboard, a database and a Smart Link in the first space's page tree, each holding a page, as Cloud's trees do")
	cmd.Flags().BoolVar(&noAdminKey, "no-admin-key", false, "serve a site without admin keys (Confluence Standard): the caller sees only spaces its groups may read and pages no read restriction keeps from it")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "serve the caller as an account without admin rights: writes answer 403 (to rehearse a failed preflight)")
	return cmd
}
