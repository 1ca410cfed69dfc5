package workinggroups

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/writer"
)

// Service implements verkosto.workinggroups.v1.WorkingGroupsService.
type Service struct {
	workinggroupsv1connect.UnimplementedWorkingGroupsServiceHandler
	pool *pgxpool.Pool
	now  func() time.Time
	w    *writer.Writer
}

// kind is the resource kind of every change of this service:
// verkosto.changes.<region>.<programme>.working_group.<change>.
const kind = "working_group"

// canManage: the coordinator of the region × programme, or an admin, creates,
// changes and closes its working groups and manages their members and seats.
func canManage(p *auth.Principal, region, programme string) bool {
	return p.Coordinates(region, programme)
}

func denyManage(region, programme string) error {
	return apierr.Deny("only the coordinator of %s × %s or an admin may manage its working groups", region, programme)
}

// canRead: people who take part in the networks (admins, coordinators,
// leaders, association contacts) read every working group; a partner reads
// the regions and programmes its credential lists.
func canRead(p *auth.Principal, region, programme string) bool {
	return p.Reads(region, programme)
}

func denyRead(region, programme string) error {
	return apierr.Deny("your credential does not cover %s × %s", region, programme)
}
