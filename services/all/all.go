// Package all is the module registry: every service the verkosto binary can
// run, in start order. A new service adds its Module here, and the
// authorization matrix test then covers its RPCs.
package all

import (
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/services/audit"
	"github.com/verkosto/verkosto/services/changes"
	"github.com/verkosto/verkosto/services/credentials"
	"github.com/verkosto/verkosto/services/events"
	"github.com/verkosto/verkosto/services/networks"
	"github.com/verkosto/verkosto/services/nominations"
	"github.com/verkosto/verkosto/services/workinggroups"
)

// Modules returns every module.
func Modules() []app.Module {
	return []app.Module{
		networks.Module(),
		workinggroups.Module(),
		events.Module(),
		nominations.Module(),
		changes.Module(),
		audit.Module(),
		credentials.Module(),
	}
}
