package nominations

import (
	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

const (
	requesterRule = "the coordinator of the request's region × programme, admins"
	leaderRule    = "a current leader of the request's network: a leader binding on it, a credential of a person, " +
		"and that person an active leader in the networks register"
	nomineeRule = "the nominee themself (a credential of that person) or the contact of the association they represent"
	readRule    = "everyone taking part in the networks; partners of the request's region × programme"
)

var (
	requesterPolicy = auth.Allow(requesterRule, auth.RoleAdmin, auth.RoleCoordinator)
	leaderPolicy    = auth.Allow(leaderRule, auth.RoleLeader)
	// Persons hold credentials of any role but partner; the handler checks
	// that the credential is the nominee's or their association contact's.
	nomineePolicy = auth.Allow(nomineeRule, auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation)
	readPolicy    = auth.Allow(readRule, auth.All...)
)

// Policies say who may call each RPC; the handlers check the resource part.
var Policies = auth.Policies{
	nominationsv1connect.NominationsServiceCreateRepresentationRequestProcedure: requesterPolicy,
	nominationsv1connect.NominationsServiceGetRepresentationRequestProcedure:    readPolicy,
	nominationsv1connect.NominationsServiceListRepresentationRequestsProcedure:  readPolicy,
	nominationsv1connect.NominationsServiceCancelRepresentationRequestProcedure: requesterPolicy,
	nominationsv1connect.NominationsServiceCreateNominationProcedure:            leaderPolicy,
	nominationsv1connect.NominationsServiceGetNominationProcedure:               readPolicy,
	nominationsv1connect.NominationsServiceListNominationsProcedure:             readPolicy,
	nominationsv1connect.NominationsServiceAcceptNominationProcedure:            nomineePolicy,
	nominationsv1connect.NominationsServiceDeclineNominationProcedure:           nomineePolicy,
	nominationsv1connect.NominationsServiceWithdrawNominationProcedure:          leaderPolicy,
	nominationsv1connect.NominationsServiceConfirmNominationProcedure:           requesterPolicy,
	nominationsv1connect.NominationsServiceRejectNominationProcedure:            requesterPolicy,
	nominationsv1connect.NominationsServiceResignNominationProcedure:            nomineePolicy,
	nominationsv1connect.NominationsServiceListRepresentationsProcedure: auth.Allow(
		"the public register: every caller; partners see their regions × programmes", auth.All...),
}
