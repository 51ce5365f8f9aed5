@echo off
rem The project's test command (README), for Windows cmd: scripts\test.cmd [pytest args]
rem Same steps as scripts/test.sh. Needs Python 3.11 from python.org (the py launcher).
setlocal
cd /d "%~dp0.."

py -3.11 -m venv .venv || exit /b 1
.venv\Scripts\python -m pip install -q -r requirements-dev.txt || exit /b 1

.venv\Scripts\python -m pytest %*
set status=%ERRORLEVEL%
rem pytest's exit code 5 ("no tests collected") must not count as a pass.
if "%status%"=="5" (
  echo scripts\test.cmd: no tests ran ^(pytest collected nothing^) 1>&2
  exit /b 1
)
exit /b %status%
