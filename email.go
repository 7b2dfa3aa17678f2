package latchkey

import "context"

// afterSignup runs once an account with an email address exists. The email
// flows (issue 3) send the first verification code from here.
func (s *Service) afterSignup(ctx context.Context, u User) {}
