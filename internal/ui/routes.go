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
	}
}
