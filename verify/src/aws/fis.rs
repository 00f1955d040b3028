//! AWS FIS: the AZ-outage drill's declared experiment template, started,
//! followed and, on every abort path, stopped.

use aws_sdk_fis::types::ExperimentStatus;

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_EXPERIMENT_TEMPLATE: &str = "fis:GetExperimentTemplate";
pub(crate) const START_EXPERIMENT: &str = "fis:StartExperiment";
pub(crate) const GET_EXPERIMENT: &str = "fis:GetExperiment";
pub(crate) const STOP_EXPERIMENT: &str = "fis:StopExperiment";

/// What the drill needs of a template: its stop conditions and actions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub id: String,
    /// Each stop condition: (`source`, `value`): `aws:cloudwatch:alarm` and
    /// the alarm's ARN, or `none`.
    pub stop_conditions: Vec<(String, Option<String>)>,
    /// `actionId` of each action (`aws:network:disrupt-connectivity`, …).
    pub actions: Vec<String>,
}

/// The template `id`, read now.
pub(crate) async fn template(aws: &AwsClients, id: &str) -> Result<Template, CheckError> {
    let resource = format!("fis experiment template '{id}'");
    let out = aws
        .fis
        .get_experiment_template()
        .id(id)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_EXPERIMENT_TEMPLATE, &resource, e))?;
    let t = out.experiment_template.ok_or_else(|| CheckError::Missing {
        operation: GET_EXPERIMENT_TEMPLATE.into(),
        resource: resource.clone(),
        field: "experimentTemplate".into(),
    })?;
    let mut actions: Vec<String> = t
        .actions
        .unwrap_or_default()
        .into_values()
        .filter_map(|a| a.action_id)
        .collect();
    actions.sort();
    Ok(Template {
        id: t.id.unwrap_or_else(|| id.to_string()),
        stop_conditions: t
            .stop_conditions
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.source.unwrap_or_default(), c.value))
            .collect(),
        actions,
    })
}

/// Starts the template, tagged as the drill's; the experiment's id.
pub(crate) async fn start(
    aws: &AwsClients,
    template: &str,
    client_token: &str,
) -> Result<String, CheckError> {
    let resource = format!("fis experiment template '{template}'");
    let out = aws
        .fis
        .start_experiment()
        .experiment_template_id(template)
        .client_token(client_token)
        .tags("verify:drill", "drill.az_outage")
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(START_EXPERIMENT, &resource, e))?;
    out.experiment
        .and_then(|e| e.id)
        .ok_or_else(|| CheckError::Missing {
            operation: START_EXPERIMENT.into(),
            resource,
            field: "experiment.id".into(),
        })
}

/// The experiment's status now, and its reason.
pub(crate) async fn status(
    aws: &AwsClients,
    experiment: &str,
) -> Result<(String, Option<String>), CheckError> {
    let resource = format!("fis experiment '{experiment}'");
    let out = aws
        .fis
        .get_experiment()
        .id(experiment)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_EXPERIMENT, &resource, e))?;
    let state = out
        .experiment
        .and_then(|e| e.state)
        .ok_or_else(|| CheckError::Missing {
            operation: GET_EXPERIMENT.into(),
            resource,
            field: "experiment.state".into(),
        })?;
    Ok((
        state
            .status
            .as_ref()
            .map(ExperimentStatus::as_str)
            .unwrap_or("unknown")
            .to_string(),
        state.reason,
    ))
}

/// Whether an experiment in `status` has ended (FIS's terminal states).
pub(crate) fn ended(status: &str) -> bool {
    matches!(status, "completed" | "stopped" | "failed" | "cancelled")
}

/// Stops the experiment (FIS rolls back its actions).
pub(crate) async fn stop(aws: &AwsClients, experiment: &str) -> Result<(), CheckError> {
    aws.fis
        .stop_experiment()
        .id(experiment)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            CheckError::from_sdk(
                STOP_EXPERIMENT,
                &format!("fis experiment '{experiment}'"),
                e,
            )
        })
}
