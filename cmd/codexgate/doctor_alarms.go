package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// pendingConfirmation is the SubscriptionArn SNS lists for a subscription
// nobody confirmed yet (an e-mail whose link was not clicked): it
// receives nothing.
const pendingConfirmation = "PendingConfirmation"

// checkAlarmTopic reports whether the stack's alarm topic (its AlarmTopicArn
// output) has a confirmed subscription: without one every alarm fires into
// the void.
func checkAlarmTopic(ctx context.Context, api sns.ListSubscriptionsByTopicAPIClient, region, stack, topic string) check {
	c := check{name: "alarms"}
	if topic == "" {
		c.status, c.detail = checkFail, fmt.Sprintf("stack %q has no AlarmTopicArn output", stack)
		c.fix = "deploy the current template with `make deploy ALARM_EMAIL=you@example.com`"
		return c
	}
	var confirmed, pending int
	var protocols []string
	pages := sns.NewListSubscriptionsByTopicPaginator(api, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			c.status, c.detail = checkFail, fmt.Sprintf("list the subscriptions of alarm topic %s: %v", topic, oneLine(err.Error()))
			c.fix = "check AWS_REGION (the stack's) and sns:ListSubscriptionsByTopic permission"
			return c
		}
		for _, s := range page.Subscriptions {
			switch arn := aws.ToString(s.SubscriptionArn); {
			case arn == pendingConfirmation:
				pending++
			case strings.HasPrefix(arn, "arn:"):
				confirmed++
				if p := aws.ToString(s.Protocol); !slices.Contains(protocols, p) {
					protocols = append(protocols, p)
				}
			}
		}
	}
	subscribe := fmt.Sprintf("aws sns subscribe --region %s --topic-arn %s --protocol email --notification-endpoint you@example.com", region, topic)
	switch {
	case confirmed > 0:
		c.status = checkPass
		c.detail = fmt.Sprintf("alarm topic %s: %d confirmed subscription(s) (%s)", topicName(topic), confirmed, strings.Join(protocols, ", "))
		if pending > 0 {
			c.detail += fmt.Sprintf(", %d pending confirmation", pending)
		}
	case pending > 0:
		c.status = checkFail
		c.detail = fmt.Sprintf("alarm topic %s: %d subscription(s) pending confirmation, none confirmed: alarms notify nobody", topicName(topic), pending)
		c.fix = "click the link in the mail \"AWS Notification - Subscription Confirmation\"; if it is lost or expired (3 days), subscribe again: " + subscribe
	default:
		c.status = checkFail
		c.detail = fmt.Sprintf("alarm topic %s has no subscription: alarms notify nobody", topicName(topic))
		c.fix = "`make deploy ALARM_EMAIL=you@example.com`, or " + subscribe + "; then confirm the mail AWS sends"
	}
	return c
}

// topicName is the last part of a topic ARN (its name).
func topicName(arn string) string { return arn[strings.LastIndexByte(arn, ':')+1:] }
