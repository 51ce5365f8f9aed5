@echo off
rem The project's install-and-run command (README), for Windows cmd: scripts\start.cmd [app.py arguments]
rem Creates .venv, installs the pinned requirements, then runs app.py (default: serve with waitress).
setlocal
cd /d "%~dp0.."
py -3.11 -m venv .venv || exit /b 1
.venv\Scripts\python -m pip install -q -r requirements.txt || exit /b 1
.venv\Scripts\python app.py %*
exit /b %ERRORLEVEL%
