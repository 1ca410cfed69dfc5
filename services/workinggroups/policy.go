package workinggroups

import (
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

const (
	manageRule = "the coordinator of the group's region × programme, admins"
	readRule   = "everyone taking part in the networks; partners of the region × programme"
)

var manage = auth.Allow(manageRule, auth.RoleAdmin, auth.RoleCoordinator)

var read = auth.Allow(readRule, auth.All...)

// Policies say who may call each RPC; the handlers check the resource part.
var Policies = auth.Policies{
	workinggroupsv1connect.WorkingGroupsServiceCreateWorkingGroupProcedure:   manage,
	workinggroupsv1connect.WorkingGroupsServiceGetWorkingGroupProcedure:      read,
	workinggroupsv1connect.WorkingGroupsServiceListWorkingGroupsProcedure:    read,
	workinggroupsv1connect.WorkingGroupsServiceGetWorkingGroupTreeProcedure:  read,
	workinggroupsv1connect.WorkingGroupsServiceUpdateWorkingGroupProcedure:   manage,
	workinggroupsv1connect.WorkingGroupsServiceCloseWorkingGroupProcedure:    manage,
	workinggroupsv1connect.WorkingGroupsServiceSetSeatAllocationProcedure:    manage,
	workinggroupsv1connect.WorkingGroupsServiceRemoveSeatAllocationProcedure: manage,
	workinggroupsv1connect.WorkingGroupsServiceAddMemberProcedure:            manage,
	workinggroupsv1connect.WorkingGroupsServiceGetMemberProcedure:            read,
	workinggroupsv1connect.WorkingGroupsServiceUpdateMemberProcedure:         manage,
	workinggroupsv1connect.WorkingGroupsServiceEndMemberProcedure:            manage,
	workinggroupsv1connect.WorkingGroupsServiceListMembersProcedure:          read,
}
