package events

import (
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

const organiserRule = "the organiser side: admins, the coordinator of the region × programme, " +
	"the network's leaders (network events), the association's contact (association events)"

var organiser = auth.Allow(organiserRule, auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation)

// Policies say who may call each RPC; the handlers check the resource part.
var Policies = auth.Policies{
	eventsv1connect.EventsServiceCreateEventProcedure:   organiser,
	eventsv1connect.EventsServiceUpdateEventProcedure:   organiser,
	eventsv1connect.EventsServicePublishEventProcedure:  organiser,
	eventsv1connect.EventsServiceCancelEventProcedure:   organiser,
	eventsv1connect.EventsServiceCompleteEventProcedure: organiser,
	eventsv1connect.EventsServiceGetEventProcedure: auth.Allow(
		"published events: every caller (partners within their scope); drafts: the organiser side", auth.All...),
	eventsv1connect.EventsServiceListEventsProcedure: auth.Allow(
		"published events: every caller (partners within their scope); drafts: the organiser side", auth.All...),
	// Members of the public register to PUBLIC events, and cancel with the
	// token they got, without a credential.
	eventsv1connect.EventsServiceRegisterForEventProcedure: auth.AllowPublic(
		"a person (themself, or an association contact for a person of theirs); anyone for PUBLIC events"),
	eventsv1connect.EventsServiceCancelRegistrationProcedure: auth.AllowPublic(
		"the registrant (a person, or the public registrant with their cancellation token), the organiser side"),
	eventsv1connect.EventsServiceGetRegistrationProcedure: auth.Allow(
		"the registrant and the organiser side", auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation),
	eventsv1connect.EventsServiceListRegistrationsProcedure:   organiser,
	eventsv1connect.EventsServiceExportRegistrationsProcedure: organiser,
	eventsv1connect.EventsServiceListMyRegistrationsProcedure: auth.Allow(
		"a credential of a person: their own registrations", auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation),
}
