package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/client"
)

// The admin commands that call the API (contract §8) with an admin key.

const adminKeyEnv = "LATCHKEY_ADMIN_KEY"

func init() {
	adminAPIGroups["users"] = runAdminUsers
	adminAPIGroups["audit"] = runAdminAudit
}

const adminUsersUsage = `latchkey admin users: look up and act on accounts, with $LATCHKEY_ADMIN_KEY.

  latchkey admin users list [--query Q] [--org ORG_ID] [--disabled|--enabled] [--limit N] [--cursor C] [--json]
  latchkey admin users show USER [--json]
  latchkey admin users disable USER [--reason TEXT]
  latchkey admin users enable USER [--reason TEXT]
  latchkey admin users revoke-sessions USER
  latchkey admin users mfa-reset USER
  latchkey admin users delete USER --yes [--force]

USER is a user id (usr_…) or an email address. --query is an email prefix
or a user id. delete asks for --yes; --force hands the orgs the user owns
to their next-oldest admin or member instead of refusing.
Flags of every command: --server URL ($LATCHKEY_SERVER), --json.
`

// adminAPI is the client of --server with the admin key of the environment.
func adminAPI(f *clientFlags) (*client.Client, error) {
	key := strings.TrimSpace(os.Getenv(adminKeyEnv))
	if key == "" {
		return nil, fmt.Errorf("set %s to an admin key (create one with `latchkey admin keys create --name NAME`)", adminKeyEnv)
	}
	server, err := f.serverURL("")
	if err != nil {
		return nil, err
	}
	return newAPIClient(server).WithToken(key), nil
}

// explainAdmin turns the API's refusals of the key into advice.
func explainAdmin(err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case "invalid_token":
		return fmt.Errorf("the server refused %s (unknown or revoked key)", adminKeyEnv)
	case "forbidden", "wrong_credential_kind":
		return fmt.Errorf("%s is not an admin key (sk_admin_…)", adminKeyEnv)
	}
	return errors.New(e.Message)
}

func runAdminUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("admin users", stderr, false)
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	query := f.fs.String("query", "", "email prefix or user id (list)")
	org := f.fs.String("org", "", "only members of this org (list)")
	disabled := f.fs.Bool("disabled", false, "only disabled accounts (list)")
	enabled := f.fs.Bool("enabled", false, "only enabled accounts (list)")
	limit := f.fs.Int("limit", 50, "users per page, 1-200 (list)")
	cursor := f.fs.String("cursor", "", "the next page's cursor a previous list printed (list)")
	reason := f.fs.String("reason", "", "why, for the audit trail (disable, enable)")
	yes := f.fs.Bool("yes", false, "confirm (delete)")
	force := f.fs.Bool("force", false, "hand owned orgs to their next admin or member (delete)")
	f.fs.Usage = func() { fmt.Fprint(stderr, adminUsersUsage) }
	pos, err := parseMixed(f.fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, adminUsersUsage)
		return errors.New("admin users: say list, show, disable, enable, revoke-sessions, mfa-reset or delete")
	}
	api, err := adminAPI(f)
	if err != nil {
		return err
	}
	cmd := pos[0]
	if cmd == "list" {
		if len(pos) != 1 {
			return fmt.Errorf("admin users list: unexpected argument %q", pos[1])
		}
		q := client.AdminUsersQuery{Query: *query, OrgID: *org, Limit: *limit, Cursor: *cursor}
		switch {
		case *disabled && *enabled:
			return errors.New("admin users list: --disabled or --enabled, not both")
		case *disabled, *enabled:
			q.Disabled = disabled
		}
		page, err := api.AdminListUsers(ctx, q)
		if err != nil {
			return explainAdmin(err)
		}
		if *asJSON {
			return printJSON(stdout, page)
		}
		printUsers(stdout, page.Users)
		if page.NextCursor != nil {
			fmt.Fprintf(stderr, "More: add --cursor %s\n", *page.NextCursor)
		}
		return nil
	}
	if len(pos) != 2 {
		return fmt.Errorf("admin users %s: give one USER (an id or an email address)", cmd)
	}
	id, err := resolveUser(ctx, api, pos[1])
	if err != nil {
		return err
	}
	var out any
	var msg string
	switch cmd {
	case "show":
		d, err := api.AdminGetUser(ctx, id)
		if err != nil {
			return explainAdmin(err)
		}
		if *asJSON {
			return printJSON(stdout, d)
		}
		return printUserDetail(stdout, d)
	case "disable", "enable":
		call := api.AdminDisableUser
		if cmd == "enable" {
			call = api.AdminEnableUser
		}
		u, err := call(ctx, id, *reason)
		if err != nil {
			return explainAdmin(err)
		}
		out, msg = map[string]any{"user": u}, fmt.Sprintf("%s (%s) is %sd.", u.Email, u.ID, cmd)
		if cmd == "disable" {
			msg += " Their sessions are revoked and every sign-in is refused until it is enabled."
		}
	case "revoke-sessions":
		n, err := api.AdminRevokeSessions(ctx, id)
		if err != nil {
			return explainAdmin(err)
		}
		out, msg = map[string]any{"revoked": n}, fmt.Sprintf("Revoked %d session(s) of %s.", n, id)
	case "mfa-reset":
		n, err := api.AdminResetMFA(ctx, id)
		if err != nil {
			return explainAdmin(err)
		}
		out, msg = map[string]any{"factors_removed": n}, fmt.Sprintf("Removed %d authenticator factor(s) and the recovery codes of %s; they were told by email.", n, id)
	case "delete":
		if !*yes {
			return fmt.Errorf("admin users delete: deleting %s cannot be undone; add --yes to confirm", pos[1])
		}
		if err := api.AdminDeleteUser(ctx, id, *force); err != nil {
			var e *client.Error
			if errors.As(err, &e) && e.Code == "org_has_other_members" {
				return fmt.Errorf("%s; add --force to hand those orgs to their next admin or member", e.Message)
			}
			return explainAdmin(err)
		}
		out, msg = map[string]any{"user_id": id, "deleted": true}, fmt.Sprintf("Deleted %s.", id)
	default:
		return fmt.Errorf("admin users: unknown command %q", cmd)
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	fmt.Fprintln(stdout, msg)
	return nil
}

// resolveUser takes a user id as it is and looks an email address up.
func resolveUser(ctx context.Context, api *client.Client, who string) (string, error) {
	if strings.HasPrefix(who, "usr_") || !strings.Contains(who, "@") {
		return who, nil
	}
	page, err := api.AdminListUsers(ctx, client.AdminUsersQuery{Query: who, Limit: 200})
	if err != nil {
		return "", explainAdmin(err)
	}
	for _, u := range page.Users {
		if strings.EqualFold(u.Email, who) {
			return u.ID, nil
		}
	}
	return "", fmt.Errorf("no user has the email address %s", who)
}

func printUsers(w io.Writer, users []client.AdminUser) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tCREATED\tLAST SIGN-IN\tMFA\tSTATUS")
	for _, u := range users {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		if u.Operator {
			status += ", operator"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, stamp(u.CreatedAt), stampPtr(u.LastSignInAt), yesNo(u.MFAEnrolled), status)
	}
	tw.Flush()
}

func printUserDetail(w io.Writer, d *client.AdminUserDetail) error {
	u := d.User
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\nEMAIL\t%s (verified: %s)\nNAME\t%s\nCREATED\t%s\nLAST SIGN-IN\t%s\n",
		u.ID, u.Email, yesNo(u.EmailVerified), u.Name, stamp(u.CreatedAt), stampPtr(u.LastSignInAt))
	if u.Disabled {
		fmt.Fprintf(tw, "DISABLED\t%s %s\n", stampPtr(u.DisabledAt), u.DisabledReason)
	}
	fmt.Fprintf(tw, "PASSWORD\t%s\nPASSKEYS\t%d\nMFA FACTORS\t%d\nOPERATOR\t%s\n", yesNo(u.HasPassword), d.Passkeys, len(d.Factors), yesNo(u.Operator))
	for _, m := range d.Memberships {
		fmt.Fprintf(tw, "ORG\t%s %s (%s)\n", m.OrgID, m.OrgName, m.Role)
	}
	for _, i := range d.Identities {
		fmt.Fprintf(tw, "IDENTITY\t%s %s\n", i.Provider, i.Email)
	}
	for _, s := range d.Sessions {
		fmt.Fprintf(tw, "SESSION\t%s since %s, last seen %s from %s\n", s.ID, stamp(s.CreatedAt), stamp(s.LastSeenAt), s.IP)
	}
	return tw.Flush()
}

const adminAuditUsage = `latchkey admin audit: read the audit trail, newest first, with $LATCHKEY_ADMIN_KEY.

  latchkey admin audit [--user USER_ID] [--org ORG_ID] [--action ACTION]
                       [--since T] [--until T] [--limit N] [--cursor C] [--json]

T is a time (2026-12-01T09:00:00Z) or a duration before now (90m, 24h).
`

func runAdminAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("admin audit", stderr, false)
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	var q client.AuditQuery
	f.fs.StringVar(&q.UserID, "user", "", "events by or about this user id")
	f.fs.StringVar(&q.OrgID, "org", "", "events of this org id")
	f.fs.StringVar(&q.Action, "action", "", "events with this action (user.login, admin.users.disabled, …)")
	since := f.fs.String("since", "", "events at or after T")
	until := f.fs.String("until", "", "events before T")
	f.fs.IntVar(&q.Limit, "limit", 50, "events per page, 1-200")
	f.fs.StringVar(&q.Cursor, "cursor", "", "the next page's cursor a previous call printed")
	f.fs.Usage = func() { fmt.Fprint(stderr, adminAuditUsage) }
	if err := f.parse(args); err != nil {
		return err
	}
	now := time.Now()
	var err error
	if q.Since, err = parseWhen("--since", *since, now); err != nil {
		return err
	}
	if q.Until, err = parseWhen("--until", *until, now); err != nil {
		return err
	}
	api, err := adminAPI(f)
	if err != nil {
		return err
	}
	page, err := api.AdminAuditEvents(ctx, q)
	if err != nil {
		return explainAdmin(err)
	}
	if *asJSON {
		return printJSON(stdout, page)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tORG\tIP")
	for _, e := range page.Events {
		actor := e.ActorKind
		if e.ActorID != "" && e.ActorID != e.ActorKind {
			actor += " " + e.ActorID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(e.Time), actor, e.Action, dash(e.Target), dash(e.OrgID), dash(e.IP))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextCursor != nil {
		fmt.Fprintf(stderr, "More: add --cursor %s\n", *page.NextCursor)
	}
	return nil
}

// parseWhen reads --since/--until: a time, or a duration before now.
func parseWhen(name, s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		t := now.Add(-d)
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%s %q: give a time like 2026-12-01T09:00:00Z or a duration like 24h", name, s)
	}
	return &t, nil
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
