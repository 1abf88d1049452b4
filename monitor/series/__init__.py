"""Signals across comments: harms that show only in a series (issue 18, part 4).

`signals` reads each stored comment once for weak signs (asking an age or private contact,
hostility towards someone, a link) and who it addresses; `identity` says which accounts are one
author; `rules` counts an author's or a target's recent signals against the thresholds in
`settings.series`; `alerting` opens one alert per series, linking every comment of it; `job`
runs all of it on the daemon's schedule.
"""
