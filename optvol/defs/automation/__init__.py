"""What runs without anyone clicking: jobs, sensors, the schedule, the automation
conditions of the models and the failed-run alerts."""
