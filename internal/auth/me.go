package auth

import (
	"context"
	"fmt"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Profile is what GET /{language}/user/me shows (SPEC §5.6).
type Profile struct {
	User            store.User
	DefaultBusiness *store.Business
	Businesses      []store.Business
}

// Me authenticates with Basic or Bearer credentials and describes the user.
func (s *Service) Me(ctx context.Context, cred Credentials, c Client) (Profile, error) {
	u, err := s.Authenticate(ctx, cred, c)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{User: u}
	view := s.cache.view(ctx)
	for _, id := range u.BusinessIDs {
		b, err := view.businessByID(ctx, id)
		if err != nil {
			return Profile{}, fmt.Errorf("me: %w", err)
		}
		p.Businesses = append(p.Businesses, b)
		if id == u.DefaultBusinessID {
			p.DefaultBusiness = &p.Businesses[len(p.Businesses)-1]
		}
	}
	return p, nil
}
