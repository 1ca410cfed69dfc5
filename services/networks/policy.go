package networks

import (
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

const (
	admin       = auth.RoleAdmin
	coordinator = auth.RoleCoordinator
	leader      = auth.RoleLeader
	association = auth.RoleAssociation
)

// Policies say who may call each RPC; the handlers check the resource part.
var Policies = auth.Policies{
	networksv1connect.NetworksServiceListRegionsProcedure:     auth.Allow("reference data: every caller", auth.All...),
	networksv1connect.NetworksServiceListProgrammesProcedure:  auth.Allow("reference data: every caller", auth.All...),
	networksv1connect.NetworksServiceCreateProgrammeProcedure: auth.Allow("admins only", admin),

	networksv1connect.NetworksServiceCreateAssociationProcedure: auth.Allow("admins and any coordinator", admin, coordinator),
	networksv1connect.NetworksServiceGetAssociationProcedure:    auth.Allow("public register data: every caller", auth.All...),
	networksv1connect.NetworksServiceListAssociationsProcedure:  auth.Allow("public register data: every caller", auth.All...),
	networksv1connect.NetworksServiceUpdateAssociationProcedure: auth.Allow("admins; the contact of that association", admin, association),

	networksv1connect.NetworksServiceCreatePersonProcedure: auth.Allow(
		"admins, coordinators, leaders; an association contact for persons of their own association", admin, coordinator, leader, association),
	networksv1connect.NetworksServiceGetPersonProcedure: auth.Allow(
		"admins, coordinators, leaders, the person; an association contact for persons of their association; never partners", admin, coordinator, leader, association),
	networksv1connect.NetworksServiceListPersonsProcedure: auth.Allow(
		"admins, coordinators, leaders; an association contact lists their association's persons", admin, coordinator, leader, association),
	networksv1connect.NetworksServiceUpdatePersonProcedure: auth.Allow(
		"admins, the person; an association contact for persons of their association", admin, coordinator, leader, association),

	networksv1connect.NetworksServiceExportPersonDataProcedure: auth.Allow(
		"admins; the person themself (a credential of that person)", admin, coordinator, leader, association),
	networksv1connect.NetworksServiceErasePersonProcedure: auth.Allow("admins only", admin),

	networksv1connect.NetworksServiceCreateNetworkProcedure: auth.Allow("the coordinator of the region × programme, admins", admin, coordinator),
	networksv1connect.NetworksServiceGetNetworkProcedure:    auth.Allow("everyone taking part; partners of the region × programme", auth.All...),
	networksv1connect.NetworksServiceListNetworksProcedure:  auth.Allow("everyone taking part; partners see their region × programme", auth.All...),
	networksv1connect.NetworksServiceUpdateNetworkProcedure: auth.Allow("the coordinator of the network's region × programme, admins", admin, coordinator),

	networksv1connect.NetworksServiceApplyMembershipProcedure: auth.Allow(
		"the association's contact; the network's coordinator, admins", admin, coordinator, association),
	networksv1connect.NetworksServiceApproveMembershipProcedure: auth.Allow(
		"a leader of the network; its coordinator, admins", admin, coordinator, leader),
	networksv1connect.NetworksServiceRejectMembershipProcedure: auth.Allow(
		"a leader of the network; its coordinator, admins", admin, coordinator, leader),
	networksv1connect.NetworksServiceLeaveMembershipProcedure: auth.Allow("the association's contact, admins", admin, association),
	networksv1connect.NetworksServiceRemoveMembershipProcedure: auth.Allow(
		"a leader of the network; its coordinator, admins", admin, coordinator, leader),
	networksv1connect.NetworksServiceGetMembershipProcedure: auth.Allow(
		"everyone taking part; partners of the region × programme", auth.All...),
	networksv1connect.NetworksServiceListMembershipsProcedure: auth.Allow(
		"everyone taking part; partners see their region × programme", auth.All...),

	networksv1connect.NetworksServiceAppointLeaderProcedure: auth.Allow("the coordinator of the network's region × programme, admins", admin, coordinator),
	networksv1connect.NetworksServiceEndLeaderTermProcedure: auth.Allow(
		"the coordinator, admins; the leader themself (a credential of that person)", admin, coordinator, leader, association),
	networksv1connect.NetworksServiceListLeadersProcedure: auth.Allow("everyone taking part; partners see their region × programme", auth.All...),
}
