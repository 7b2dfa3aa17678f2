package server

type verifyEmailRequest struct {
	Code string `json:"code"`
}

type changeEmailRequest struct {
	Email string `json:"email"`
}

type userResponse struct {
	User userJSON `json:"user"`
}

type resetRequest struct {
	Email string `json:"email"`
}

type resetCompleteRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

type onboardingStepJSON struct {
	ID       string `json:"id"`
	Complete bool   `json:"complete"`
}

type onboardingJSON struct {
	EmailVerified bool                 `json:"email_verified"`
	HasPassword   bool                 `json:"has_password"`
	Steps         []onboardingStepJSON `json:"steps"`
	Complete      bool                 `json:"complete"`
}

func (s *Server) emailOps() []operation {
	return []operation{
		rpc("auth.email.send_verification_code", authSession, "Email the caller a fresh 6-digit code; earlier codes stop working. At most 5 per hour.",
			func(c *call, _ empty) (empty, error) {
				return empty{}, s.svc.SendVerificationCode(c.ctx, c.auth)
			}),
		rpc("auth.email.verify", authSession, "Mark the caller's email verified with the latest code. Five wrong tries kill the code.",
			func(c *call, req verifyEmailRequest) (empty, error) {
				return empty{}, s.svc.VerifyEmail(c.ctx, c.auth, req.Code)
			}),
		rpc("auth.email.change", authSession, "Replace an unverified email address and send a code to the new one.",
			func(c *call, req changeEmailRequest) (userResponse, error) {
				u, err := s.svc.ChangeEmail(c.ctx, c.auth, req.Email)
				if err != nil {
					return userResponse{}, err
				}
				return userResponse{User: toUserJSON(u)}, nil
			}),
		rpc("auth.password.reset.request", authNone, "Email a password reset link if the address has an account. Always the same answer.",
			func(c *call, req resetRequest) (empty, error) {
				return empty{}, s.svc.RequestPasswordReset(c.ctx, req.Email, c.meta)
			}),
		rpc("auth.password.reset.complete", authNone, "Set a new password with a reset link's token; signs out every session of the user.",
			func(c *call, req resetCompleteRequest) (empty, error) {
				return empty{}, tokenError400(s.svc.CompletePasswordReset(c.ctx, req.Token, req.NewPassword, c.meta))
			}),
		rpc("auth.onboarding.status", authSession, "What the caller still has to do: verify the email, set a password.",
			func(c *call, _ empty) (onboardingJSON, error) {
				o, err := s.svc.OnboardingStatus(c.ctx, c.auth)
				out := onboardingJSON{EmailVerified: o.EmailVerified, HasPassword: o.HasPassword, Complete: o.Complete, Steps: []onboardingStepJSON{}}
				for _, st := range o.Steps {
					out.Steps = append(out.Steps, onboardingStepJSON{st.ID, st.Complete})
				}
				return out, err
			}).read(),
	}
}
