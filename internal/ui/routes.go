package ui

import "github.com/flagpilot/flagpilot/internal/domain"

const (
	viewer = domain.RoleViewer
	editor = domain.RoleEditor
	admin  = domain.RoleAdmin
)

const (
	projectPath = "/p/{project}"
	flagPath    = projectPath + "/flags/{flag}"
	gatePath    = projectPath + "/gates/{gate}"
	segmentPath = projectPath + "/segments/{segment}"
	webhookPath = "/webhooks/{webhook}"
	userPath    = "/users/{user}"
)

// routes lists every page and form action. Reading needs a session (viewer); the role of a
// change is checked here to answer with a clear page, and again by the service.
func (u *UI) routes() []route {
	return []route{
		{method: "GET", path: "/login", handler: (*UI).loginForm},
		{method: "POST", path: "/login", handler: (*UI).login},
		{method: "POST", path: "/logout", role: viewer, handler: (*UI).logout},
		{method: "GET", path: "/{$}", role: viewer, handler: (*UI).home},

		{method: "GET", path: "/projects", role: viewer, handler: (*UI).projects},
		{method: "POST", path: "/projects", role: admin, handler: (*UI).createProject},
		{method: "GET", path: projectPath + "/{$}", role: viewer, handler: (*UI).projectHome},
		{method: "GET", path: projectPath + "/environments", role: viewer, handler: (*UI).environments},
		{method: "POST", path: projectPath + "/environments", role: admin, handler: (*UI).createEnvironment},

		{method: "GET", path: projectPath + "/flags", role: viewer, handler: (*UI).flags},
		{method: "POST", path: projectPath + "/flags", role: editor, handler: (*UI).createFlag},
		{method: "GET", path: flagPath, role: viewer, handler: (*UI).flag},
		{method: "POST", path: flagPath + "/toggle", role: editor, handler: (*UI).toggle},
		{method: "GET", path: flagPath + "/targeting", role: viewer, handler: (*UI).targeting},
		{method: "POST", path: flagPath + "/targeting", role: editor, handler: (*UI).saveTargeting},

		{method: "GET", path: projectPath + "/rollouts", role: viewer, handler: (*UI).rollouts},
		{method: "GET", path: flagPath + "/rollout", role: viewer, handler: (*UI).rollout},
		{method: "POST", path: flagPath + "/rollout", role: editor, handler: (*UI).startRollout},
		{method: "POST", path: flagPath + "/rollout/{action}", role: editor, handler: (*UI).controlRollout},

		{method: "GET", path: projectPath + "/gates", role: viewer, handler: (*UI).gates},
		{method: "POST", path: projectPath + "/gates", role: editor, handler: (*UI).createGate},
		{method: "GET", path: gatePath, role: viewer, handler: (*UI).gate},
		{method: "POST", path: gatePath + "/evaluate", role: editor, handler: (*UI).evaluateGate},
		{method: "POST", path: gatePath + "/delete", role: editor, handler: (*UI).deleteGate},

		{method: "GET", path: projectPath + "/analytics", role: viewer, handler: (*UI).analytics},

		{method: "GET", path: projectPath + "/segments", role: viewer, handler: (*UI).segments},
		{method: "POST", path: projectPath + "/segments", role: editor, handler: (*UI).createSegment},
		{method: "GET", path: segmentPath, role: viewer, handler: (*UI).segment},
		{method: "POST", path: segmentPath, role: editor, handler: (*UI).saveSegment},
		{method: "POST", path: segmentPath + "/delete", role: editor, handler: (*UI).deleteSegment},

		{method: "GET", path: projectPath + "/audit", role: viewer, handler: (*UI).projectAudit},
		{method: "GET", path: "/audit", role: admin, handler: (*UI).serverAudit},

		{method: "GET", path: projectPath + "/keys", role: admin, handler: (*UI).sdkKeys},
		{method: "POST", path: projectPath + "/keys", role: admin, handler: (*UI).createKey},
		{method: "POST", path: projectPath + "/keys/{key}/delete", role: admin, handler: (*UI).deleteKey},

		{method: "GET", path: "/webhooks", role: admin, handler: (*UI).webhooks},
		{method: "POST", path: "/webhooks", role: admin, handler: (*UI).createWebhook},
		{method: "GET", path: webhookPath, role: admin, handler: (*UI).webhook},
		{method: "POST", path: webhookPath, role: admin, handler: (*UI).saveWebhook},
		{method: "POST", path: webhookPath + "/enabled", role: admin, handler: (*UI).enableWebhook},
		{method: "POST", path: webhookPath + "/delete", role: admin, handler: (*UI).deleteWebhook},

		{method: "GET", path: "/users", role: admin, handler: (*UI).users},
		{method: "POST", path: "/users", role: admin, handler: (*UI).createUser},
		{method: "POST", path: userPath + "/role", role: admin, handler: (*UI).setRole},
		{method: "POST", path: userPath + "/password", role: admin, handler: (*UI).resetPassword},
		{method: "POST", path: userPath + "/delete", role: admin, handler: (*UI).deleteUser},
		{method: "GET", path: "/account", role: viewer, handler: (*UI).account},
		{method: "POST", path: "/account", role: viewer, handler: (*UI).changePassword},
	}
}
